"""Per-convention precise BatchNorm for frozen-encoder evaluation.

An encoder pretrained on convention-grouped batches normalised every
training batch by ONE convention's statistics, while its running statistics
mix the conventions; evaluated with them, every clip is normalised by
statistics it never saw in training, and the features carry the convention
more than the motion. :func:`recalibrate_bn_per_convention` gives every BN
running statistics per convention (:class:`ConventionBatchNorm`, the
parameters untouched) and re-estimates them on the training clips of each
convention with the frozen encoder. ``tools/probe_eval.py`` runs it when a
linear-evaluation config sets ``precise_bn_per_convention`` (``True`` or
``'train'``, or ``'sequential'``).

Two ways to estimate (``mode``): ``'train'``, the usual precise BN, runs
the encoder in training mode and averages every BN's batch statistics,
each BN fed by upstream BNs that normalise by their batch statistics;
``'sequential'`` takes one BN at a time in forward order, with the encoder
in evaluation mode and every BN before it already final, so each BN's
statistics are exactly those of its input in the network evaluation runs.
Deep, narrow encoders amplify the small gap between the two: on Bandai the
output BN's inputs were off by up to 0.6 std after ``'train'``
(docs/results.md, "Sequential precise BN").
"""
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from msclr_plugin.models.layers import to_convention_bn
from .probe import Features, extract_convention_features

MODES = ('train', 'sequential')


def to_per_convention_bn(backbone: nn.Module) -> int:
    """Replace every single BN of an :class:`MSSTGCN`'s blocks by a
    :class:`ConventionBatchNorm` with shared affine parameters (the same
    ``Parameter`` objects) and the BN's statistics in every convention: the
    same function until the statistics change.

    Args:
        backbone (nn.Module): The backbone (changed in place).

    Returns:
        int: How many BNs were replaced (0 if it had per-convention BNs).
    """
    if backbone.per_convention_bn:
        return 0
    replaced = to_convention_bn(backbone.gcn, backbone.names)
    if replaced:
        backbone.per_convention_bn = True
    return replaced


@torch.no_grad()
def recalibrate_bn_per_convention(model: nn.Module,
                                  loader_cfg: dict,
                                  conventions: Optional[Sequence[str]] = None,
                                  progress: str = '',
                                  mode: str = 'train') -> int:
    """Re-estimate every BatchNorm's running statistics per convention on
    the clips of a dataloader, with the encoder frozen (precise BN, one
    convention at a time).

    Only BN buffers change: single BNs first become per-convention BNs
    (:func:`to_per_convention_bn`, same parameters), then every BN of the
    backbone (input BNs included) that the given conventions pass through
    gets the statistics of its input over the dataset, each convention's
    clips through its own BNs; dropout stays off. ``'train'`` forgets the
    statistics and averages those of every batch in training mode
    (``momentum=None``); ``'sequential'`` holds the backbone's inputs of
    the dataset in memory and makes one pass per BN, in forward order, in
    evaluation mode, each stopped at that BN (a BN called more than once
    per forward is refused). The model's mode and the BNs' momentum are
    restored.

    Args:
        model (nn.Module): A model with an :class:`MSSTGCN` ``backbone`` and
            a ``data_preprocessor`` (a linear-evaluation recognizer).
        loader_cfg (dict): A dataloader config of the training clips (a
            :class:`MultiSkeletonDataset`, un-augmented pipeline); its
            ``mode`` is set to each convention in turn.
        conventions (Sequence[str], optional): Defaults to the backbone's.
        progress (str): If given, progress lines are printed under it.
        mode (str): ``'train'`` or ``'sequential'`` (see the module).

    Returns:
        int: Number of BatchNorm layers recalibrated.
    """
    if mode not in MODES:
        raise ValueError(f'precise BN mode must be one of {MODES}, got {mode!r}')
    if is_model_wrapper(model):
        model = model.module
    backbone = model.backbone
    to_per_convention_bn(backbone)
    conventions = list(conventions or backbone.names)
    bns = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if mode == 'sequential':
        return _sequential(model, bns, loader_cfg, conventions, progress)
    saved = [(bn.momentum, bn.training) for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches

    def batch_statistics(module, args):
        module.training = True  # the feature extraction runs in eval mode

    hooks = [bn.register_forward_pre_hook(batch_statistics) for bn in bns]
    try:
        extract_convention_features(model, loader_cfg, conventions, progress)
    finally:
        for hook in hooks:
            hook.remove()
        for bn, (momentum, training) in zip(bns, saved):
            bn.momentum, bn.training = momentum, training
    return len(bns)


class _Reached(Exception):
    """Stops a forward at the BN whose input is being measured."""


def _moments(x: torch.Tensor, mask: Optional[torch.Tensor]) -> List[torch.Tensor]:
    """Count, per-channel sum and sum of squares (float64) of a BN's input
    ``(N, C[, L])`` or ``(N, C, T, V)``, over the real joints of ``mask``."""
    x = x.double()
    if x.dim() == 4 and mask is not None:
        weight = mask[:, None, None, :].to(x.dtype).expand(-1, 1, x.shape[2], -1)
        return [weight.sum(), (x * weight).sum((0, 2, 3)),
                (x.square() * weight).sum((0, 2, 3))]
    x = x.transpose(0, 1).flatten(1)  # (C, everything else)
    return [x.new_tensor(float(x.shape[1])), x.sum(1), x.square().sum(1)]


@torch.no_grad()
def bn_input_statistics(
        model: nn.Module, loader_cfg: dict, conventions: Sequence[str]
) -> Tuple[Dict[nn.Module, Tuple[torch.Tensor, torch.Tensor]], Features]:
    """Every backbone BN's input mean and unbiased variance (float64, real
    joints only) over a dataloader's clips of the given conventions, in
    evaluation mode as features are extracted, and those pooled features:
    what the BN's running statistics should be for evaluation.

    Returns:
        tuple: ``{bn: (mean, var)}`` (the BNs those conventions pass through)
        and :func:`extract_convention_features`'s ``{convention: (features,
        labels)}``.
    """
    sums: Dict[nn.Module, list] = {}

    def record(module, args):
        got = _moments(args[0], args[1] if len(args) > 1 else None)
        sums[module] = [a + b for a, b in zip(sums[module], got)] if module in sums else got

    hooks = [bn.register_forward_pre_hook(record) for bn in model.backbone.modules()
             if isinstance(bn, nn.modules.batchnorm._BatchNorm)]
    try:
        feats = extract_convention_features(model, loader_cfg, conventions)
    finally:
        for hook in hooks:
            hook.remove()
    return {bn: (s1 / n, (s2 / n - (s1 / n).square()) * n / (n - 1))
            for bn, (n, s1, s2) in sums.items()}, feats


def _sequential(model: nn.Module, bns: List[nn.Module], loader_cfg: dict,
                conventions: List[str], progress: str) -> int:
    """:func:`recalibrate_bn_per_convention` with ``mode='sequential'``."""
    backbone, was_training, start = model.backbone, model.training, time.time()
    inputs: Dict[str, list] = {}
    current: list = []  # the backbone's positional arguments of every batch
    capture = backbone.register_forward_pre_hook(lambda m, args: current.append(args))
    try:
        for conv in conventions:  # the backbone's inputs, once
            current.clear()
            extract_convention_features(model, loader_cfg, [conv],
                                        progress and f'{progress} (inputs)')
            inputs[conv] = list(current)
    finally:
        capture.remove()
    model.eval()
    order = {}  # per convention: its BNs in forward order
    calls: list = []
    hooks = [bn.register_forward_pre_hook(lambda m, args: calls.append(m)) for bn in bns]
    try:
        for conv in conventions:
            calls.clear()
            backbone(*inputs[conv][0])
            if len(set(calls)) != len(calls):
                raise ValueError(f'sequential precise BN: a BN of {type(backbone).__name__} '
                                 f'is called more than once per forward of {conv}')
            order[conv] = list(calls)
    finally:
        for hook in hooks:
            hook.remove()
    done = set()
    try:
        for step in range(max(len(o) for o in order.values())):
            # one BN per convention at this depth (or one BN they share)
            targets = dict.fromkeys(o[step] for o in order.values() if step < len(o))
            for bn in targets:
                moments = [0., 0., 0.]

                def measure(module, args):
                    mask = args[1] if len(args) > 1 else None
                    for i, value in enumerate(_moments(args[0], mask)):
                        moments[i] = moments[i] + value
                    raise _Reached

                hook = bn.register_forward_pre_hook(measure)
                try:
                    for conv, batches in inputs.items():
                        if step >= len(order[conv]) or order[conv][step] is not bn:
                            if bn in order[conv]:
                                raise ValueError('sequential precise BN: a BN shared by '
                                                 'conventions sits at different depths')
                            continue
                        for args in batches:
                            try:
                                backbone(*args)
                            except _Reached:
                                pass
                finally:
                    hook.remove()
                count, total, squares = moments
                mean = total / count
                var = (squares / count - mean.square()).clamp_min(0)
                var = var * count / (count - 1).clamp_min(1)  # unbiased, as BN keeps it
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                done.add(bn)
    finally:
        model.train(was_training)
    if progress:
        print(f'{progress} sequential: {len(done)} BNs, one pass each, '
              f'{time.time() - start:.1f} s', flush=True)
    return len(done)
