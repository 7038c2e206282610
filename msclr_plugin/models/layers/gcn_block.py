"""A graph block whose spatial unit sees the batch's conventions."""
from typing import Dict

import torch
import torch.nn as nn

from .aagcn_unit import AAGraphConv
from .conventions import ConventionBatch
from .ctrgcn_unit import CTRGraphConv
from .st_block import STGCNBlock

SPATIAL_UNITS = dict(unit_aagcn=AAGraphConv, unit_ctrgcn=CTRGraphConv)


class GCNBlock(STGCNBlock):
    """:class:`STGCNBlock` (``ReLU(tcn(gcn(x)) + residual(x))``, AAGCN's
    and CTR-GCN's block too) whose spatial unit, named by ``gcn_type``
    (``'unit_aagcn'`` or ``'unit_ctrgcn'``), reaches its per-convention parts
    through the :class:`ConventionBatch` rather than a ready adjacency.

    Args: as :class:`STGCNBlock`.
    """

    def spatial_unit(self,
                     in_channels: int,
                     out_channels: int,
                     adjacency: Dict[str, torch.Tensor],
                     type: str = 'unit_aagcn',
                     **kwargs) -> nn.Module:
        if type not in SPATIAL_UNITS:
            raise ValueError(f'gcn_type must be one of {sorted(SPATIAL_UNITS)}'
                             f', got {type!r}')
        return SPATIAL_UNITS[type](in_channels, out_channels, adjacency,
                                   **kwargs)

    def init_weights(self) -> None:
        """The spatial unit's own initialisation (as its reference)."""
        self.gcn.init_weights()

    def forward(self, x: torch.Tensor, batch: ConventionBatch) -> torch.Tensor:
        return super().forward(x, batch, batch.mask)
