"""Per-convention precise BatchNorm for frozen-encoder evaluation.

An encoder pretrained on convention-grouped batches normalised every
training batch by ONE convention's statistics, while its running statistics
mix the conventions; evaluated with them, every clip is normalised by
statistics it never saw in training, and the features carry the convention
more than the motion. :func:`recalibrate_bn_per_convention` gives every BN
running statistics per convention (:class:`ConventionBatchNorm`, the
parameters untouched) and re-estimates them on the training clips of each
convention with the frozen encoder. ``tools/probe_eval.py`` runs it when a
linear-evaluation config sets ``precise_bn_per_convention = True``.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from msclr_plugin.models.layers import to_convention_bn
from .probe import extract_convention_features


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
                                  progress: str = '') -> int:
    """Re-estimate every BatchNorm's running statistics per convention on
    the clips of a dataloader, with the encoder frozen (precise BN, one
    convention at a time).

    Only BN buffers change: single BNs first become per-convention BNs
    (:func:`to_per_convention_bn`, same parameters), then every BN of the
    backbone (input BNs included) forgets its statistics and averages those
    of every batch of the dataset (``momentum=None``), each convention's
    clips through its own BNs; dropout stays off. The model's mode and the
    BNs' momentum are restored.

    Args:
        model (nn.Module): A model with an :class:`MSSTGCN` ``backbone`` and
            a ``data_preprocessor`` (a linear-evaluation recognizer).
        loader_cfg (dict): A dataloader config of the training clips (a
            :class:`MultiSkeletonDataset`, un-augmented pipeline); its
            ``mode`` is set to each convention in turn.
        conventions (Sequence[str], optional): Defaults to the backbone's.
        progress (str): If given, progress lines are printed under it.

    Returns:
        int: Number of BatchNorm layers recalibrated.
    """
    if is_model_wrapper(model):
        model = model.module
    backbone = model.backbone
    to_per_convention_bn(backbone)
    bns = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(bn.momentum, bn.training) for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches

    def batch_statistics(module, args):
        module.training = True  # the feature extraction runs in eval mode

    hooks = [bn.register_forward_pre_hook(batch_statistics) for bn in bns]
    try:
        extract_convention_features(model, loader_cfg,
                                    conventions or backbone.names, progress)
    finally:
        for hook in hooks:
            hook.remove()
        for bn, (momentum, training) in zip(bns, saved):
            bn.momentum, bn.training = momentum, training
    return len(bns)
