"""A graph block whose spatial unit sees the batch's conventions."""
from typing import Dict

import torch
import torch.nn as nn

from .aagcn_unit import AAGraphConv
from .conventions import ConventionBatch
from .ctrgcn_unit import CTRGraphConv
from .ms_tcn import temporal_unit
from .st_block import TemporalConv, route_kwargs

SPATIAL_UNITS = dict(unit_aagcn=AAGraphConv, unit_ctrgcn=CTRGraphConv)


class GCNBlock(nn.Module):
    """``ReLU(tcn(gcn(x)) + residual(x))`` (AAGCN's and CTR-GCN's block)
    with the spatial unit named by ``gcn_type``; the unit routes its
    per-convention parts through the :class:`ConventionBatch`.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        adjacency (Dict[str, torch.Tensor]): Native stacks by convention.
        stride (int): Temporal stride. Defaults to 1.
        residual (bool): Block residual (identity when shapes agree, else a
            strided 1x1 conv + BN). Defaults to True.
        **kwargs: ``gcn_type`` (``'unit_aagcn'`` or ``'unit_ctrgcn'``) and
            ``gcn_*`` keys go to the spatial unit, ``tcn_*`` keys to
            :func:`temporal_unit`.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 adjacency: Dict[str, torch.Tensor],
                 stride: int = 1,
                 residual: bool = True,
                 **kwargs) -> None:
        super().__init__()
        gcn_kwargs, tcn_kwargs = route_kwargs(kwargs, 'GCNBlock')
        unit = gcn_kwargs.pop('type', 'unit_aagcn')
        if unit not in SPATIAL_UNITS:
            raise ValueError(f'gcn_type must be one of {sorted(SPATIAL_UNITS)}'
                             f', got {unit!r}')
        self.gcn = SPATIAL_UNITS[unit](in_channels, out_channels, adjacency,
                                       **gcn_kwargs)
        self.tcn = temporal_unit(
            out_channels, out_channels, stride=stride, **tcn_kwargs)
        self.identity = residual and in_channels == out_channels and \
            stride == 1
        self.residual = (
            TemporalConv(in_channels, out_channels, kernel_size=1,
                         stride=stride)
            if residual and not self.identity else None)

    def init_weights(self) -> None:
        self.gcn.init_weights()

    def forward(self, x: torch.Tensor, batch: ConventionBatch) -> torch.Tensor:
        out = self.tcn(self.gcn(x, batch), batch.mask)
        if self.residual is not None:
            out = out + self.residual(x, batch.mask)
        elif self.identity:
            out = out + x
        return torch.relu(out)
