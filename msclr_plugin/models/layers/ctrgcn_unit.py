"""CTR-GCN's graph unit (channel-wise topology refinement) with
per-convention graphs."""
from typing import Dict

import torch
import torch.nn as nn

from .conventions import ConventionBatch, PerConventionParameter
from .masked_bn import MaskedBatchNorm2d
from .st_block import Mask, TemporalConv


class ChannelTopologyConv(nn.Module):
    """One subset of CTR-GCN's unit (the paper's CTR-GC): a shared graph
    ``A`` refined per channel by pairwise joint relations,
    ``Z = einsum(alpha * conv4(tanh(phi(x)_u - psi(x)_v)) + A, conv3(x))``
    with ``phi``, ``psi`` 1x1 convolutions averaged over time.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        rel_reduction (int): ``in_channels / `` relation channels (8 when
            the input is 3 or 9 channels, as in the reference). Defaults
            to 8.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 rel_reduction: int = 8) -> None:
        super().__init__()
        rel = 8 if in_channels in (3, 9) else in_channels // rel_reduction
        self.conv1 = nn.Conv2d(in_channels, rel, 1)
        self.conv2 = nn.Conv2d(in_channels, rel, 1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1)
        self.conv4 = nn.Conv2d(rel, out_channels, 1)

    def forward(self, x: torch.Tensor, A: torch.Tensor, alpha: torch.Tensor,
                mask: Mask = None) -> torch.Tensor:
        """x: (N, C, T, V); A: (V, V) or (N, V, V), ``A[u, v]`` the edge from
        joint v into joint u (the reference's orientation)."""
        x1, x2 = self.conv1(x).mean(-2), self.conv2(x).mean(-2)
        rel = torch.tanh(x1.unsqueeze(-1) - x2.unsqueeze(-2))
        rel = self.conv4(rel) * alpha + A.unsqueeze(-3)  # (N, C, V, V)
        if mask is not None:  # no edges out of padded joints
            rel = rel * mask[:, None, None, :].to(rel.dtype)
        return torch.einsum('ncuv,nctv->nctu', rel, self.conv3(x))


class CTRGraphConv(nn.Module):
    """CTR-GCN's graph unit, shared by several conventions:
    ``ReLU(BN(sum_k CTR-GC_k(x, PA_k)) + down(x))``.

    Per convention: the learned graph ``PA`` (initialised to the
    convention's graph). Shared: the CTR-GC convolutions, ``alpha``, BN and
    the residual.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        adjacency (Dict[str, torch.Tensor]): Native ``(K, V, V)`` stacks by
            convention name.
        adaptive (bool): Learn the graph (``PA``); else the fixed graph.
            Defaults to True.
        rel_reduction (int): See :class:`ChannelTopologyConv`.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 adjacency: Dict[str, torch.Tensor],
                 adaptive: bool = True,
                 rel_reduction: int = 8) -> None:
        super().__init__()
        num_subsets = next(iter(adjacency.values())).shape[0]
        self.adaptive = adaptive
        self.convs = nn.ModuleList(
            ChannelTopologyConv(in_channels, out_channels, rel_reduction)
            for _ in range(num_subsets))
        if adaptive:
            self.PA = PerConventionParameter(
                {name: nn.Parameter(A.clone())
                 for name, A in adjacency.items()})
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = MaskedBatchNorm2d(out_channels)
        self.down = (TemporalConv(in_channels, out_channels, kernel_size=1)
                     if in_channels != out_channels else None)

    def init_weights(self) -> None:
        """The reference's output BN at 1e-6 (the unit starts as its
        residual)."""
        nn.init.constant_(self.bn.weight, 1e-6)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x: torch.Tensor, batch: ConventionBatch,
                mask: Mask = None) -> torch.Tensor:
        """x: (N, C, T, V); ``mask``: ``batch.mask``, the real joints."""
        A = batch.graphs(self.PA if self.adaptive else None)
        y = None
        for i, conv in enumerate(self.convs):
            z = conv(x, A.select(-3, i), self.alpha, mask)
            y = z + y if y is not None else z
        y = self.bn(y, mask)
        return torch.relu(y + (x if self.down is None else self.down(x, mask)))
