"""MSAAGCN: one AAGCN shared by several skeleton conventions."""
from typing import Dict

import torch
import torch.nn as nn

from mmaction.registry import MODELS
from ..layers.gcn_block import GCNBlock
from .ms_gcn_base import MSGCNBase, single_graph_state_dict


@MODELS.register_module()
class MSAAGCN(MSGCNBase):
    """Multi-skeleton AAGCN (MS-AAGCN, Shi et al. 2020; mmaction2's
    ``AAGCN``) over several conventions.

    Each convention keeps its input BN, its learned graph ``A`` and its
    spatial attention (a convolution along its joints); the adaptive-graph
    embeddings, ``alpha``, the output convolutions, the temporal and channel
    attentions and the temporal units are shared. With one convention it
    equals mmaction2's ``AAGCN`` (:meth:`from_aagcn` converts one).

    Args:
        graph_cfg (dict): A :class:`MultiSkeletonGraph` config; AAGCN uses
            ``mode='spatial'``.
        data_bn_type (str): Defaults to ``'MVC'``, as mmaction2's AAGCN.
        **kwargs: As :class:`MSGCNBase`; ``gcn_*`` keys go to
            :class:`AAGraphConv` (``adaptive``, ``attention``,
            ``coff_embedding``), ``tcn_*`` keys to the temporal unit
            (``dropout``, ``kernel_size``, ``type``...).

    Examples:
        >>> backbone = MSAAGCN(graph_cfg=dict(
        ...     type='MultiSkeletonGraph', mode='spatial',
        ...     layouts=['kinectv2_25', 'smplx_42']))
        >>> backbone(torch.randn(2, 2, 20, 25, 3), 'kinectv2_25').shape
        torch.Size([2, 2, 256, 5, 25])
    """

    block = GCNBlock

    def __init__(self,
                 graph_cfg: dict,
                 data_bn_type: str = 'MVC',
                 gcn_type: str = 'unit_aagcn',
                 **kwargs) -> None:
        super().__init__(
            graph_cfg, data_bn_type=data_bn_type, gcn_type=gcn_type, **kwargs)

    @classmethod
    def from_aagcn(cls, aagcn: nn.Module, **kwargs) -> 'MSAAGCN':
        """Build an MSAAGCN equal to an mmaction2 ``AAGCN`` (``unit_tcn``
        temporal units) and copy its weights; extra keyword arguments go to
        the constructor."""
        blocks = list(aagcn.gcn)
        if aagcn.in_channels == aagcn.base_channels:
            raise NotImplementedError(
                'AAGCN with in_channels == base_channels has no stem block; '
                'not supported by from_aagcn')
        first = blocks[0].gcn
        settings, skeleton = cls.single_graph_settings(aagcn)
        model = cls(
            num_stages=len(blocks),
            channels=[b.gcn.out_c for b in blocks],
            down_stages=cls.strided_stages(blocks),
            tcn_kernel_size=blocks[0].tcn.conv.kernel_size[0],
            tcn_dropout=[b.tcn.drop.p for b in blocks],
            gcn_coff_embedding=first.out_c // first.inter_c,
            gcn_adaptive=first.adaptive,
            gcn_attention=first.attention,
            **settings,
            **kwargs)
        model.load_state_dict(
            aagcn_state_dict_to_msaagcn(aagcn.state_dict(), skeleton,
                                        first.adaptive))
        return model


def aagcn_state_dict_to_msaagcn(state: Dict[str, torch.Tensor],
                                skeleton: str,
                                adaptive: bool = True,
                                prefix: str = '') -> Dict[str, torch.Tensor]:
    """Rename an mmaction2 ``AAGCN`` state dict to MSAAGCN keys: the input
    BN, the learned graphs ``gcn.i.gcn.A`` and the spatial attentions
    ``gcn.i.gcn.conv_sa`` go under ``<skeleton>``; fixed graphs are dropped
    (see :func:`single_graph_state_dict`)."""
    per_convention = dict(conv_sa='conv_sa')
    if adaptive:
        per_convention['A'] = 'A'
    return single_graph_state_dict(
        state, skeleton, per_convention, drop=('A', ), prefix=prefix)
