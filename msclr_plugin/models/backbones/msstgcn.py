"""MSSTGCN: one ST-GCN shared by several skeleton conventions."""
from typing import Dict, Optional

import torch
import torch.nn as nn

from mmaction.registry import MODELS
from ..layers import STGCNBlock
from ..layers.conventions import ConventionBatch
from .ms_gcn_base import MSGCNBase, single_graph_state_dict


@MODELS.register_module()
class MSSTGCN(MSGCNBase):
    """Multi-skeleton ST-GCN (MS-CLR's "unified skeleton" encoder).

    The ST-GCN blocks (convolutions and their BatchNorms) are shared by every
    convention; each convention keeps its own graph, input BatchNorm and
    edge-importance weights. With one convention it is an ordinary ST-GCN,
    numerically equal to mmaction2's ``STGCN`` (see :meth:`from_stgcn`).

    A batch is either of one convention at its native joint count (no
    padding, the fast path), or padded to a common joint count with the
    convention of each sample given: padded joints are zeroed on entry, get
    no edges, never enter a BatchNorm statistic and are zero on output, so a
    real joint's output never depends on them.

    Args:
        See :class:`MSGCNBase`. ``channels`` may give AimCLR's encoder
        (``(16, 16, 16, 16, 32, 32, 32, 64, 64, 256)``). ``**kwargs`` are
        routed to :class:`STGCNBlock` as in mmaction2 and pyskl:
        ``gcn_adaptive``, ``gcn_with_res``, ``tcn_type`` (``'unit_tcn'`` or
        ``'mstcn'``), ``tcn_kernel_size``, ``tcn_dropout``...

    Examples:
        >>> backbone = MSSTGCN(
        ...     graph_cfg=dict(type='MultiSkeletonGraph',
        ...                    layouts=['kinectv2_25', 'smplx_42']))
        >>> x = torch.randn(4, 2, 50, 25, 3)        # (N, M, T, V, C)
        >>> backbone(x, 'kinectv2_25').shape        # native 25 joints
        torch.Size([4, 2, 256, 13, 25])
        >>> mixed = torch.randn(4, 2, 50, 42, 3)    # padded to 42
        >>> backbone(mixed, ['kinectv2_25', 'smplx_42'] * 2).shape
        torch.Size([4, 2, 256, 13, 42])
    """

    block = STGCNBlock

    def forward_blocks(self, x: torch.Tensor,
                       batch: ConventionBatch) -> torch.Tensor:
        for block in self.gcn:
            A = batch.stack(lambda conv: block.gcn.effective(
                batch.native_graph(conv), self.names[conv]))
            x = block(x, A, batch.mask)
        return x

    # ------------------------------------------------- mmaction2 interop
    @classmethod
    def from_stgcn(cls, stgcn: nn.Module, **kwargs) -> 'MSSTGCN':
        """Build an MSSTGCN equal to an mmaction2 ``STGCN`` and copy its
        weights.

        Supports ``unit_tcn`` and ``mstcn`` temporal units (ST-GCN++) and
        every ``gcn_adaptive`` mode;
        the result has the STGCN's single convention (a built-in layout when
        the graph is one of mmaction2's, else a layout named
        ``'stgcn_custom'``). Extra keyword arguments (e.g. ``frozen_stages``)
        are passed to the constructor.
        """
        blocks = list(stgcn.gcn)
        first = blocks[0]
        if stgcn.in_channels == stgcn.base_channels:
            raise NotImplementedError(
                'STGCN with in_channels == base_channels has no stem block; '
                'not supported by from_stgcn')
        for block in blocks:
            tcn = block.tcn
            if hasattr(tcn, 'branches') and tcn.rem_mid_channels != (
                    tcn.out_channels - tcn.mid_channels * (tcn.num_branches - 1)):
                raise NotImplementedError('from_stgcn supports mstcn with '
                                          'mid_channels=None only')
            if not (hasattr(tcn, 'conv') or hasattr(tcn, 'branches')):
                raise NotImplementedError(
                    'from_stgcn supports unit_tcn and mstcn only')
            if block.gcn.conv_pos != 'pre':
                raise NotImplementedError("from_stgcn supports conv_pos='pre'")
        dropout = [
            getattr(getattr(b.tcn, 'drop', None), 'p', 0.) for b in blocks
        ]
        tcn = (dict(tcn_type='mstcn', tcn_ms_cfg=list(first.tcn.ms_cfg))
               if hasattr(first.tcn, 'branches') else dict(
                   tcn_kernel_size=first.tcn.conv.kernel_size[0]))
        settings, skeleton = cls.single_graph_settings(stgcn)
        model = cls(
            num_stages=len(blocks),
            channels=[b.gcn.out_channels for b in blocks],
            down_stages=cls.strided_stages(blocks),
            tcn_dropout=dropout,
            gcn_adaptive=first.gcn.adaptive,
            gcn_with_res=first.gcn.with_res,
            **tcn,
            **settings,
            **kwargs)
        model.load_state_dict(
            stgcn_state_dict_to_msstgcn(stgcn.state_dict(), skeleton,
                                        first.gcn.adaptive))
        return model


def stgcn_state_dict_to_msstgcn(state: Dict[str, torch.Tensor],
                                skeleton: str,
                                adaptive: Optional[str] = 'importance',
                                prefix: str = '') -> Dict[str, torch.Tensor]:
    """Rename an mmaction2 ``STGCN`` state dict to MSSTGCN keys.

    ``data_bn.*`` becomes ``data_bn.<skeleton>.*``; the edge parameters
    ``gcn.i.gcn.PA`` (or the learnable ``gcn.i.gcn.A`` of
    ``adaptive='init'``) become ``gcn.i.gcn.PA.<skeleton>``; the fixed graph
    buffers ``gcn.i.gcn.A`` are dropped (the graph is rebuilt from the
    layout); ``gcn.i.gcn.down.{0,1}`` become ``down.{conv,bn}``. Keys outside
    ``prefix`` are returned unchanged.
    """
    return single_graph_state_dict(
        state,
        skeleton,
        dict(PA='PA', A='PA') if adaptive == 'init' else dict(PA='PA'),
        drop=('A', ),
        prefix=prefix)
