"""MSCTRGCN: one CTR-GCN shared by several skeleton conventions."""
import re
from typing import Dict, Sequence

import torch

from mmaction.registry import MODELS
from ..layers.gcn_block import GCNBlock
from .ms_gcn_base import MSGCNBase, single_graph_state_dict

# CTR-GCN's temporal unit: kernel 5 at dilations 1 and 2, max-pool, 1x1
CTRGCN_TCN = ((5, 1), (5, 2), ('max', 3), '1x1')


@MODELS.register_module()
class MSCTRGCN(MSGCNBase):
    """Multi-skeleton CTR-GCN (Chen et al., ICCV 2021) over several
    conventions.

    Ten blocks ``ReLU(MS-TCN(CTR-GC unit(x)) + residual(x))`` with 64, 128
    (stage 5, stride 2) and 256 (stage 8, stride 2) channels, as the
    reference. Each convention keeps its input BN (``'MVC'``) and its
    learned graph ``PA`` (initialised to the convention's ``'spatial'``
    graph); the channel-wise topology convolutions, ``alpha`` and the
    multi-scale temporal units are shared. With one convention it equals the
    published architecture (the reference ``Model`` without its classifier:
    :func:`ctrgcn_state_dict_to_msctrgcn` converts its checkpoints).

    Args:
        graph_cfg (dict): A :class:`MultiSkeletonGraph` config; CTR-GCN uses
            ``mode='spatial'``.
        data_bn_type (str): Defaults to ``'MVC'``.
        tcn_ms_cfg (Sequence): Temporal branches. Defaults to CTR-GCN's
            ``((5, 1), (5, 2), ('max', 3), '1x1')``.
        **kwargs: As :class:`MSGCNBase`; ``gcn_*`` keys go to
            :class:`CTRGraphConv` (``adaptive``, ``rel_reduction``),
            ``tcn_*`` keys to :class:`MultiScaleTemporalConv`.

    Examples:
        >>> layouts = ['kinectv2_25', 'smplx_42']
        >>> backbone = MSCTRGCN(graph_cfg=dict(
        ...     type='MultiSkeletonGraph', layouts=layouts, mode='spatial'))
        >>> padded = torch.randn(2, 2, 20, 42, 3)   # a mixed batch
        >>> backbone(padded, layouts).shape
        torch.Size([2, 2, 256, 5, 42])
    """

    block = GCNBlock

    def __init__(self,
                 graph_cfg: dict,
                 data_bn_type: str = 'MVC',
                 tcn_ms_cfg: Sequence = CTRGCN_TCN,
                 **kwargs) -> None:
        kwargs = dict(
            dict(gcn_type='unit_ctrgcn', tcn_type='mstcn',
                 tcn_branch_bn=True, tcn_transform=False), **kwargs)
        super().__init__(
            graph_cfg,
            data_bn_type=data_bn_type,
            tcn_ms_cfg=tcn_ms_cfg,
            **kwargs)


def ctrgcn_state_dict_to_msctrgcn(state: Dict[str, torch.Tensor],
                                  skeleton: str,
                                  prefix: str = '') -> Dict[str, torch.Tensor]:
    """Rename a state dict of the reference CTR-GCN ``Model`` (``l1`` ...
    ``l10`` of ``gcn1`` / ``tcn1`` / ``residual``, ``data_bn``, ``fc``) to
    MSCTRGCN keys; the classifier ``fc`` is left out."""
    renamed = {}
    for key, value in state.items():
        if key.startswith(prefix):
            key = prefix + re.sub(
                r'^l(\d+)\.(gcn|tcn)1\.|^l(\d+)\.residual\.',
                lambda m: (f'gcn.{int(m[1]) - 1}.{m[2]}.' if m[1] else
                           f'gcn.{int(m[3]) - 1}.residual.'),
                key[len(prefix):])
        renamed[key] = value
    return single_graph_state_dict(
        renamed, skeleton, dict(PA='PA'), drop=('A', 'fc'), prefix=prefix)
