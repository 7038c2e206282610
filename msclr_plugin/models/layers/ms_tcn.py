"""Multi-scale temporal convolution (ST-GCN++'s ``mstcn``, CTR-GCN's
``MultiScale_TemporalConv``) with BatchNorms that ignore padded joints."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from .dropout import MSDropout
from .masked_bn import MaskedBatchNorm2d
from .st_block import Mask, TemporalConv

MSTCN_CFG = ((3, 1), (3, 2), (3, 3), (3, 4), ('max', 3), '1x1')


def _run(layers: nn.Module, x: torch.Tensor, mask: Mask) -> torch.Tensor:
    """A branch (a module or a sequence), handing the joint mask to the
    layers that take one."""
    for layer in (layers if isinstance(layers, nn.Sequential) else [layers]):
        x = (layer(x, mask) if isinstance(layer,
                                          (MaskedBatchNorm2d, TemporalConv))
             else layer(x))
    return x


class MultiScaleTemporalConv(nn.Module):
    """Parallel temporal branches, concatenated over channels.

    Each ``(k, d)`` branch is ``conv1x1 -> BN -> ReLU -> (k, 1) conv with
    dilation d``; ``('max', k)`` is ``conv1x1 -> BN -> ReLU -> max-pool k``;
    ``'1x1'`` a strided 1x1 conv. mmaction2's ``mstcn`` (ST-GCN++) follows
    the concatenation with ``BN -> ReLU -> conv1x1 -> BN -> dropout``
    (``transform=True``); CTR-GCN's ends every branch with a BN instead
    (``branch_bn=True``) and stops at the concatenation. Module names follow
    mmaction2's ``mstcn`` (``branches.i.j``, ``transform``, ``bn``), so its
    state dicts load unchanged.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        ms_cfg (Sequence): Branches. Defaults to mmaction2's
            ``((3, 1), (3, 2), (3, 3), (3, 4), ('max', 3), '1x1')``.
        mid_channels (float, optional): Channels of each branch as a
            fraction of ``out_channels``; None splits ``out_channels``
            evenly (the first branch takes the remainder).
        stride (int): Temporal stride. Defaults to 1.
        dropout (float): Dropout after the output BN (``transform`` only).
        branch_bn (bool): A BN at the end of every branch (CTR-GCN).
        transform (bool): ``BN -> ReLU -> conv1x1 -> BN`` after the
            concatenation (mmaction2). Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 ms_cfg: Sequence = MSTCN_CFG,
                 mid_channels: Optional[float] = None,
                 stride: int = 1,
                 dropout: float = 0.,
                 branch_bn: bool = False,
                 transform: bool = True) -> None:
        super().__init__()
        num = len(ms_cfg)
        if mid_channels is None:
            mid = out_channels // num
            first = out_channels - mid * (num - 1)
        else:
            mid = first = int(out_channels * mid_channels)
        branches = []
        for i, cfg in enumerate(ms_cfg):
            width = first if i == 0 else mid
            if cfg == '1x1':
                layers = [nn.Conv2d(in_channels, width, 1, stride=(stride, 1))]
            else:
                kind, size = cfg
                layers = [
                    nn.Conv2d(in_channels, width, 1),
                    MaskedBatchNorm2d(width),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d((size, 1), (stride, 1), ((size - 1) // 2, 0))
                    if kind == 'max' else TemporalConv(
                        width, width, kind, stride, dilation=size,
                        norm=branch_bn)
                ]
            if branch_bn and not isinstance(layers[-1], TemporalConv):
                layers.append(MaskedBatchNorm2d(width))
            branches.append(
                layers[0] if len(layers) == 1 else nn.Sequential(*layers))
        self.branches = nn.ModuleList(branches)
        total = first + mid * (num - 1)
        self.transform = nn.Sequential(
            MaskedBatchNorm2d(total), nn.ReLU(inplace=True),
            nn.Conv2d(total, out_channels, 1)) if transform else None
        self.bn = MaskedBatchNorm2d(out_channels) if transform else None
        self.drop = (MSDropout(dropout, inplace=True)
                     if transform and dropout > 0 else None)

    def forward(self, x: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        x = torch.cat([_run(branch, x, mask) for branch in self.branches], 1)
        if self.transform is None:
            return x
        x = self.bn(_run(self.transform, x, mask), mask)
        return x if self.drop is None else self.drop(x)


def temporal_unit(in_channels: int,
                  out_channels: int,
                  type: str = 'unit_tcn',
                  **kwargs) -> nn.Module:
    """The temporal unit named by a block's ``tcn_type``: ``'unit_tcn'``
    (:class:`TemporalConv`, kernel 9 by default) or ``'mstcn'``
    (:class:`MultiScaleTemporalConv`)."""
    units = dict(unit_tcn=TemporalConv, mstcn=MultiScaleTemporalConv)
    if type not in units:
        raise ValueError(f'tcn_type must be one of {sorted(units)}, got '
                         f'{type!r}')
    return units[type](in_channels, out_channels, **kwargs)
