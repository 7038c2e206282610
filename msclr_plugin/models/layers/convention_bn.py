"""BatchNorm with running statistics per skeleton convention."""
from typing import Dict, Iterable, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils import ddp_anchor, index_tensor
from .masked_bn import MaskedBatchNorm2d

Conventions = Union[int, List[int]]
_STATS = ('running_mean', 'running_var', 'num_batches_tracked')


class ConventionBatchNorm(nn.Module):
    """One BatchNorm per convention: each convention is normalised by its own
    batch statistics in training and its own running statistics in
    evaluation, so a clip is not normalised by the statistics of a
    convention it is not in.

    Grouped batches (one convention, :func:`set_norm_conventions` with an
    ``int``) go through that convention's BN only; a mixed batch (one
    convention per row) is split by convention, each part through its BN
    with its rows of the joint mask (padded joints never enter a
    statistic). Under :func:`convert_sync_batchnorm` the per-convention BNs
    become :class:`MaskedSyncBatchNorm`: every rank then calls every
    convention's BN (a collective), with its rows, maybe none. In one
    process, a convention with a single row of an ``(N, C)`` mixed batch
    (the projector's BN) is normalised by its running statistics.

    The affine parameters are shared (one ``weight``/``bias``, the paper's
    parameter count), per convention, or absent (``affine=False``: each
    convention standardised by its own statistics, nothing learned). A state
    dict of a single BN (a reference checkpoint, or this model without the
    option) loads: its statistics (and per-convention affine parameters)
    are copied to every convention (:meth:`expand_state_dict`).

    Args:
        num_features (int): Channels C.
        conventions (Sequence[str]): Convention names, in the backbone's
            index order.
        shared_affine (bool): One affine transform for all conventions.
            Defaults to True.
        dims (int): 2 for ``(N, C, T, V)`` inputs (masked BN), 1 for
            ``(N, C)``. Defaults to 2.
        affine (bool): Learn an affine transform (shared or per convention
            as ``shared_affine`` says). Defaults to True.
        eps (float): BN epsilon. Defaults to 1e-5.
        momentum (float): BN momentum. Defaults to 0.1.
    """

    def __init__(self,
                 num_features: int,
                 conventions: Sequence[str],
                 shared_affine: bool = True,
                 dims: int = 2,
                 affine: bool = True,
                 eps: float = 1e-5,
                 momentum: float = 0.1) -> None:
        super().__init__()
        if dims not in (1, 2):
            raise ValueError(f'dims must be 1 or 2, got {dims}')
        if not conventions:
            raise ValueError('ConventionBatchNorm needs at least one convention')
        bn = MaskedBatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.names = list(conventions)
        self.num_features = num_features
        self.shared_affine = shared_affine
        self.affine = affine
        self.norms = nn.ModuleDict({
            name: bn(num_features, eps, momentum,
                     affine=affine and not shared_affine)
            for name in self.names
        })
        if affine and shared_affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        # host-side: set by the owner before each forward
        self.conventions: Optional[Conventions] = None
        self.row_cache: Dict = {}

    def extra_repr(self) -> str:
        return (f'{self.num_features}, conventions={self.names}, '
                f'affine={self.affine}, shared_affine={self.shared_affine}')

    def expand_state_dict(self, state: Dict[str, torch.Tensor],
                          prefix: str = '') -> None:
        """Rewrite, in place, a single BN's entries under ``prefix`` into
        this layer's keys: its statistics (and, with per-convention affine
        parameters, its weight and bias) copied to every convention."""
        if prefix + 'running_mean' not in state:
            return
        keys = list(_STATS) + ([] if self.shared_affine or not self.affine
                               else ['weight', 'bias'])
        for key in keys:
            value = state.pop(prefix + key, None)
            if value is None:
                continue
            for name in self.names:
                state[f'{prefix}norms.{name}.{key}'] = value.clone()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self.expand_state_dict(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @staticmethod
    def _call(bn: nn.Module, x: torch.Tensor,
              mask: Optional[torch.Tensor]) -> torch.Tensor:
        if (bn.training and x.dim() == 2 and x.shape[0] == 1
                and not getattr(bn, 'is_synced', False)):
            # one (N, C) row of a convention in a mixed batch has no batch
            # statistics: its convention's running ones, left as they are
            return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight,
                                bn.bias, False, 0., bn.eps)
        return bn(x) if mask is None else bn(x, mask)

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Normalise ``x`` (``(N, C, ...)``) by the conventions of its rows.

        Args:
            x (torch.Tensor): The input.
            mask (torch.Tensor, optional): ``(N, V)`` real-joint mask.

        Returns:
            torch.Tensor: Normalised ``x``.
        """
        idx = self.conventions
        if idx is None:
            raise RuntimeError('ConventionBatchNorm: the conventions of the '
                               'batch were not set (set_norm_conventions)')
        synced = any(getattr(bn, 'is_synced', False) for bn in self.norms.values())
        if isinstance(idx, int) and not synced:
            out = self._call(self.norms[self.names[idx]], x, mask)
        else:
            rows_of = [idx] * x.shape[0] if isinstance(idx, int) else idx
            if len(rows_of) != x.shape[0]:
                raise ValueError(f'{len(rows_of)} conventions for a batch of '
                                 f'{x.shape[0]} rows')
            # synchronised BNs are collectives: every rank calls each one, and
            # an empty part still enters the graph (its backward reduces too)
            convs = range(len(self.names)) if synced else sorted(set(rows_of))
            out = x.new_zeros(x.shape)
            if self.row_cache.get('of') is not idx:  # set without the helper
                self.row_cache = {'of': idx}
            for conv in convs:
                # one index tensor per convention and batch, shared by every
                # BN of the model (set_norm_conventions), not one per layer
                key = (conv, x.device, len(rows_of))
                rows = self.row_cache.get(key)
                if rows is None:
                    rows = self.row_cache[key] = index_tensor(
                        [i for i, c in enumerate(rows_of) if c == conv], x.device)
                part = self._call(self.norms[self.names[conv]], x.index_select(0, rows),
                                  None if mask is None else mask.index_select(0, rows))
                out = out.index_copy(0, rows, part)
        if not self.affine:
            return out
        if self.shared_affine:
            view = (1, -1) + (1, ) * (x.dim() - 2)
            out = out * self.weight.view(view) + self.bias.view(view)
        else:
            used = {idx} if isinstance(idx, int) else set(idx)
            # per-convention parameters of conventions absent from the batch
            anchor = ddp_anchor(p for i, name in enumerate(self.names) if i not in used
                                for p in self.norms[name].parameters())
            if anchor is not None:
                out = out + anchor
        return out


def set_norm_conventions(module: nn.Module, conventions: Conventions,
                         repeat: int = 1) -> None:
    """Tell every :class:`ConventionBatchNorm` of ``module`` the conventions
    of the batch it is about to see.

    Args:
        module (nn.Module): Any module (nothing happens without such BNs).
        conventions (int | List[int]): The batch's convention index, or one
            per sample.
        repeat (int): Rows per sample (persons folded into the batch).
    """
    if not isinstance(conventions, int):
        conventions = [c for c in conventions for _ in range(repeat)]
    row_cache = {'of': conventions}
    for norm in convention_norms(module):
        norm.conventions, norm.row_cache = conventions, row_cache


def convention_norms(module: nn.Module) -> Iterable[ConventionBatchNorm]:
    """The :class:`ConventionBatchNorm` layers of a module."""
    return (m for m in module.modules() if isinstance(m, ConventionBatchNorm))


def expand_norm_state_dict(module: nn.Module,
                           state: Dict[str, torch.Tensor]) -> None:
    """Rewrite, in place, single-BN entries of a state dict of ``module``
    (no prefix) into its per-convention keys (a reference or paper-form
    checkpoint loaded into a model with per-convention BNs)."""
    for name, sub in module.named_modules():
        if isinstance(sub, ConventionBatchNorm):
            sub.expand_state_dict(state, f'{name}.' if name else '')


def to_convention_bn(module: nn.Module, conventions: Sequence[str],
                     shared_affine: bool = True) -> int:
    """Replace, in place, every :class:`MaskedBatchNorm2d` inside ``module``
    by a :class:`ConventionBatchNorm` computing the same function until the
    statistics change: the BN's statistics in every convention, its affine
    parameters shared (the same ``Parameter`` objects) or copied to each
    convention. One mechanism for every backbone's blocks, whatever units
    they hold.

    Args:
        module (nn.Module): The blocks (changed in place).
        conventions (Sequence[str]): Convention names, in index order.
        shared_affine (bool): One affine transform for all conventions.

    Returns:
        int: How many BNs were replaced.
    """
    replaced = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is not MaskedBatchNorm2d:
                continue
            norm = ConventionBatchNorm(child.num_features, conventions,
                                       shared_affine, eps=child.eps,
                                       momentum=child.momentum)
            if shared_affine:
                norm.weight, norm.bias = child.weight, child.bias
            state = {k: v for k, v in child.state_dict().items()
                     if shared_affine is False or k not in ('weight', 'bias')}
            for bn in norm.norms.values():
                bn.load_state_dict({k: v.clone() for k, v in state.items()})
            norm.to(child.running_mean.device)
            norm.train(child.training)
            setattr(parent, name, norm)
            replaced += 1
    return replaced
