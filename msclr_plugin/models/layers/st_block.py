"""The ST-GCN block with per-convention adjacency and edge importance.

Same computation as mmaction2's ``STGCNBlock`` (``unit_gcn`` + ``unit_tcn``)
and ST-GCN's ``st_gcn``: ``ReLU(tcn(gcn(x)) + residual(x))``. The block
owns no graph: the backbone hands it the adjacency of the batch's
convention(s), so one set of convolution weights serves every convention,
while the learnable edge parameters stay per convention.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from .dropout import MSDropout
from .conventions import PerConventionParameter
from .graph_product import RecomputedGraphConv, graph_product
from .masked_bn import MaskedBatchNorm2d

ADAPTIVE = (None, 'importance', 'offset', 'init')
Mask = Optional[torch.Tensor]


def route_kwargs(kwargs: dict, block: str) -> Tuple[dict, dict]:
    """pyskl's keyword routing: ``gcn_x`` goes to the spatial unit as
    ``x``, ``tcn_x`` to the temporal unit; anything else is an error."""
    routed = {}, {}
    for key, value in kwargs.items():
        if key[:4] not in ('gcn_', 'tcn_'):
            raise TypeError(f'{block} got an unknown argument {key!r}')
        routed[key[:4] == 'tcn_'][key[4:]] = value
    return routed


class TemporalConv(nn.Module):
    """``(k, 1)`` temporal convolution, masked BN and dropout
    (mmaction2's ``unit_tcn``).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Temporal kernel size. Defaults to 9.
        stride (int): Temporal stride. Defaults to 1.
        dilation (int): Temporal dilation. Defaults to 1.
        dropout (float): Dropout probability after BN. Defaults to 0.
        norm (bool): BatchNorm after the convolution. Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 9,
                 stride: int = 1,
                 dilation: int = 1,
                 dropout: float = 0.,
                 norm: bool = True) -> None:
        super().__init__()
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            in_channels,
            out_channels, (kernel_size, 1),
            padding=(pad, 0),
            stride=(stride, 1),
            dilation=(dilation, 1))
        self.bn = MaskedBatchNorm2d(out_channels) if norm else None
        self.drop = MSDropout(dropout, inplace=True) if dropout > 0 else None

    def forward(self, x: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x, mask)
        return x if self.drop is None else self.drop(x)


class GraphConv(nn.Module):
    """Spatial graph convolution (mmaction2's ``unit_gcn``, pre-conv form):
    ``x -> conv1x1 -> sum_k x_k A_k -> BN (+ res) -> ReLU``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        adjacency (Dict[str, torch.Tensor]): Native ``(K, V, V)`` stacks by
            convention name; they shape the learnable edge parameters.
        adaptive (str | None): ``'importance'`` (ST-GCN's edge importance,
            ``A * P`` with P initialised to 1), ``'offset'`` (``A + P``),
            ``'init'`` (P initialised to A and used instead of it) or None.
        with_res (bool): Residual connection inside the unit (STGCN++).
        recompute (bool): Keep the pointwise convolution's input instead of
            its ``K``-times-wider output for backward and recompute the
            output there (:class:`RecomputedGraphConv`): less memory, one
            more ``1x1`` convolution per backward. Same values and
            gradients. Defaults to False.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 adjacency: Dict[str, torch.Tensor],
                 adaptive: Optional[str] = 'importance',
                 with_res: bool = False,
                 recompute: bool = False) -> None:
        super().__init__()
        if adaptive not in ADAPTIVE:
            raise ValueError(f'gcn adaptive must be one of {ADAPTIVE}, got '
                             f'{adaptive!r}')
        self.adaptive = adaptive
        self.num_subsets = next(iter(adjacency.values())).shape[0]
        self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        self.bn = MaskedBatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)
        if adaptive is not None:
            init = {
                'importance': torch.ones_like,
                'offset': lambda A: torch.empty_like(A).uniform_(-1e-6, 1e-6),
                'init': torch.clone,
            }[adaptive]
            self.PA = PerConventionParameter(
                {name: nn.Parameter(init(A))
                 for name, A in adjacency.items()})
        self.with_res = with_res
        self.recompute = recompute
        self.down = (
            TemporalConv(in_channels, out_channels, kernel_size=1)
            if with_res and in_channels != out_channels else None)

    def effective(self, A: torch.Tensor, skeleton: str) -> torch.Tensor:
        """The ``(K, V, V)`` adjacency this unit applies for a convention."""
        if self.adaptive is None:
            return A
        P = self.PA[skeleton]
        if self.adaptive == 'importance':
            return A * P
        if self.adaptive == 'offset':
            return A + P
        return P

    def forward(self, x: torch.Tensor, A: torch.Tensor,
                mask: Mask = None) -> torch.Tensor:
        """x: (N, C, T, V); A: (K, V, V) shared or (N, K, V, V) per sample."""
        res = None
        if self.with_res:
            res = x if self.down is None else self.down(x, mask)
        if self.recompute and torch.is_grad_enabled():
            x = RecomputedGraphConv.apply(x, self.conv.weight, self.conv.bias,
                                          A, self.num_subsets)
        else:
            x = graph_product(self.conv(x), A, self.num_subsets)
        x = self.bn(x, mask)
        # BN's backward does not need its output: add and ReLU in place
        return self.act(x if res is None else x.add_(res))


class STGCNBlock(nn.Module):
    """One ST-GCN block shared by all conventions.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        adjacency (Dict[str, torch.Tensor]): Native stacks by convention.
        stride (int): Temporal stride. Defaults to 1.
        residual (bool): Block residual (identity when shapes agree, else a
            strided 1x1 conv + BN). Defaults to True.
        **kwargs: ``gcn_*`` keys go to :class:`GraphConv` (``adaptive``,
            ``with_res``), ``tcn_*`` keys to :func:`temporal_unit`
            (``type``: ``'unit_tcn'`` or ``'mstcn'``, ``kernel_size``,
            ``dilation``, ``dropout``...).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 adjacency: Dict[str, torch.Tensor],
                 stride: int = 1,
                 residual: bool = True,
                 **kwargs) -> None:
        super().__init__()
        gcn_kwargs, tcn_kwargs = route_kwargs(kwargs, type(self).__name__)
        # imported here: the multi-scale unit is built from TemporalConv
        from .ms_tcn import temporal_unit
        self.gcn = self.spatial_unit(in_channels, out_channels, adjacency,
                                     **gcn_kwargs)
        self.tcn = temporal_unit(
            out_channels, out_channels, stride=stride, **tcn_kwargs)
        self.relu = nn.ReLU(inplace=True)
        self.residual_mode = ('none' if not residual else
                              'identity' if in_channels == out_channels
                              and stride == 1 else 'conv')
        self.residual = (
            TemporalConv(in_channels, out_channels, kernel_size=1,
                         stride=stride)
            if self.residual_mode == 'conv' else None)

    def spatial_unit(self, in_channels: int, out_channels: int,
                     adjacency: Dict[str, torch.Tensor],
                     **kwargs) -> nn.Module:
        """The graph unit (:class:`GraphConv`), built from ``gcn_*``."""
        return GraphConv(in_channels, out_channels, adjacency, **kwargs)

    def forward(self, x: torch.Tensor, A: torch.Tensor,
                mask: Mask = None) -> torch.Tensor:
        if self.residual_mode == 'none':
            res = 0
        elif self.residual_mode == 'identity':
            res = x
        else:
            res = self.residual(x, mask)
        out = self.tcn(self.gcn(x, A, mask), mask)
        # neither BN nor dropout saves its output for backward: add in place
        if self.residual_mode != 'none':
            out = out.add_(res)
        return self.relu(out)
