"""AAGCN's graph unit with per-convention graphs and joint attention."""
import math
from typing import Dict

import torch
import torch.nn as nn

from .conventions import ConventionBatch, PerConvention, PerConventionParameter
from .masked_bn import MaskedBatchNorm2d
from .st_block import Mask, TemporalConv


class AAGraphConv(nn.Module):
    """The adaptive graph unit of 2s-AGCN / MS-AAGCN (mmaction2's
    ``unit_aagcn``), shared by several conventions.

    Per subset k: ``conv_d_k(x (A_k + alpha * tanh(theta_k(x)^T phi_k(x))))``;
    the sum goes through BN, a residual and ReLU, then the spatial, temporal
    and channel attentions (``y * att + y`` each). Per convention: the learned
    graph ``A`` (initialised to the convention's graph) and the spatial
    attention ``conv_sa``, a convolution along the joint axis whose kernel
    spans the convention's joints. Shared: every other weight, ``alpha``
    included. In a padded batch the data-dependent graph gives padded joints
    no out-edges, the spatial attention sees them as zeros (as its own
    zero-padding would) and the joint means skip them.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        adjacency (Dict[str, torch.Tensor]): Native ``(K, V, V)`` stacks by
            convention name.
        coff_embedding (int): ``out_channels / `` embedding channels of the
            data-dependent graph. Defaults to 4.
        adaptive (bool): Learned graph plus the data-dependent one; else the
            fixed graph alone. Defaults to True.
        attention (bool): The spatial-temporal-channel attention. Defaults
            to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 adjacency: Dict[str, torch.Tensor],
                 coff_embedding: int = 4,
                 adaptive: bool = True,
                 attention: bool = True) -> None:
        super().__init__()
        self.num_subsets = next(iter(adjacency.values())).shape[0]
        self.inter_channels = out_channels // coff_embedding
        self.adaptive = adaptive
        self.attention = attention
        self.conv_d = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 1)
            for _ in range(self.num_subsets))
        if adaptive:
            self.A = PerConventionParameter(
                {name: nn.Parameter(A.clone())
                 for name, A in adjacency.items()})
            self.alpha = nn.Parameter(torch.zeros(1))
            self.conv_a, self.conv_b = (nn.ModuleList(
                nn.Conv2d(in_channels, self.inter_channels, 1)
                for _ in range(self.num_subsets)) for _ in range(2))
        if attention:
            self.conv_ta = nn.Conv1d(out_channels, 1, 9, padding=4)
            # an odd kernel over (nearly) all of the convention's joints
            kernels = {name: A.shape[-1] - 1 + A.shape[-1] % 2
                       for name, A in adjacency.items()}
            self.conv_sa = PerConvention({
                name: nn.Conv1d(out_channels, 1, k, padding=(k - 1) // 2)
                for name, k in kernels.items()
            })
            self.fc1c = nn.Linear(out_channels, out_channels // 2)
            self.fc2c = nn.Linear(out_channels // 2, out_channels)
        self.down = (TemporalConv(in_channels, out_channels, kernel_size=1)
                     if in_channels != out_channels else None)
        self.bn = MaskedBatchNorm2d(out_channels)

    def init_weights(self) -> None:
        """mmaction2's initialisation of ``unit_aagcn``: branch-scaled
        ``conv_d``, output BN at 1e-6, attentions starting at 0.5."""
        for conv in self.conv_d:
            out, inp = conv.weight.shape[:2]
            nn.init.normal_(conv.weight, 0,
                            math.sqrt(2. / (out * inp * self.num_subsets)))
            nn.init.zeros_(conv.bias)
        nn.init.constant_(self.bn.weight, 1e-6)
        nn.init.zeros_(self.bn.bias)
        if self.attention:
            nn.init.zeros_(self.conv_ta.weight)
            nn.init.zeros_(self.conv_ta.bias)
            for conv in self.conv_sa.values():
                nn.init.xavier_normal_(conv.weight)
                nn.init.zeros_(conv.bias)
            nn.init.kaiming_normal_(self.fc1c.weight, nonlinearity='relu')
            nn.init.zeros_(self.fc1c.bias)
            nn.init.zeros_(self.fc2c.weight)
            nn.init.zeros_(self.fc2c.bias)

    def forward(self, x: torch.Tensor, batch: ConventionBatch,
                mask: Mask = None) -> torch.Tensor:
        """x: (N, C, T, V); ``mask``: ``batch.mask``, the real joints."""
        N, C, T, V = x.shape
        A = batch.graphs(self.A if self.adaptive else None)
        flat = x.reshape(N, C * T, V)
        y = None
        for i in range(self.num_subsets):
            A_i = A.select(-3, i)
            if self.adaptive:
                A1 = self.conv_a[i](x).permute(0, 3, 1, 2).contiguous().view(
                    N, V, self.inter_channels * T)
                A2 = self.conv_b[i](x).reshape(N, self.inter_channels * T, V)
                A1 = torch.tanh(torch.matmul(A1, A2) / A1.size(-1))
                if mask is not None:  # no edges out of padded joints
                    A1 = A1 * mask[:, :, None].to(A1.dtype)
                A_i = A_i + A1 * self.alpha
            z = self.conv_d[i](torch.matmul(flat, A_i).view(N, C, T, V))
            y = z + y if y is not None else z
        y = torch.relu(
            self.bn(y, mask) + (x if self.down is None else self.down(x, mask)))
        if not self.attention:
            return y
        se = y.mean(-2)  # (N, C, V)
        if mask is not None:
            se = se * mask[:, None, :].to(se.dtype)
        se = torch.sigmoid(batch.apply(
            se, lambda conv, part: self.conv_sa[batch.names[conv]](part)))
        y = y * se.unsqueeze(-2) + y
        se = torch.sigmoid(self.conv_ta(batch.joint_mean(y)))  # (N, 1, T)
        y = y * se.unsqueeze(-1) + y
        se = torch.relu(self.fc1c(batch.joint_mean(y).mean(-1)))
        se = torch.sigmoid(self.fc2c(se))  # (N, C)
        return y * se.unsqueeze(-1).unsqueeze(-1) + y
