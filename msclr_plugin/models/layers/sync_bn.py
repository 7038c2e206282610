"""Synchronised BatchNorm that ignores padded joints, on CPU (gloo) and GPU."""
from typing import Optional

import torch
import torch.distributed.nn.functional as dist_fn
import torch.nn as nn
from mmengine.dist import get_world_size, is_distributed

from .masked_bn import MaskedBatchNorm2d


class MaskedSyncBatchNorm(MaskedBatchNorm2d):
    """BatchNorm whose training statistics are those of the global batch
    (every rank), with padded joints excluded as in
    :class:`MaskedBatchNorm2d`.

    torch's ``SyncBatchNorm`` runs on GPUs only and has no joint mask; this
    one takes any ``(N, C, ...)`` input (``BatchNorm1d`` and ``2d`` alike)
    and an optional ``(N, V)`` mask for ``(N, C, T, V)`` inputs. Per channel,
    the count, the sum and the sum of squares of ``x - running_mean`` (a
    shift that keeps the one-pass variance accurate) are summed over the
    ranks by one differentiable all-reduce, so the gradient flows to every
    rank's samples as in torch's SyncBN. Outside training, or in a single
    process, it is exactly the layer it replaced.

    Every rank must call the layer the same number of times per step (each
    call is a collective): see :meth:`MSSTGCN._data_bn` for the
    per-convention input BNs.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f'expected an (N, C, ...) input, got {x.dim()}D')

    @property
    def is_synced(self) -> bool:
        """Whether this call reduces statistics over the ranks."""
        return (self.training and self.track_running_stats
                and is_distributed() and get_world_size() > 1)

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not self.is_synced:
            return super().forward(x, mask)
        dtype = x.dtype
        if dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        channels = x.shape[1]
        dims = [0] + list(range(2, x.dim()))
        view = (1, channels) + (1, ) * (x.dim() - 2)
        shift = self.running_mean.detach().view(view).to(x.dtype)
        y = x - shift
        if mask is None:
            weight = None
            count = x.new_full((1, ), x.numel() / max(channels, 1))
        else:
            weight = mask[:, None, None, :].to(x.dtype)
            count = (weight.sum() * x.shape[2]).reshape(1)
        yw = y if weight is None else y * weight
        stats = dist_fn.all_reduce(
            torch.cat([yw.sum(dims), (yw * y).sum(dims), count]))
        total = stats[-1]
        mean_y = stats[:channels] / total
        var = (stats[channels:2 * channels] / total -
               mean_y.square()).clamp(min=0)
        mean = mean_y + shift.view(-1)
        with torch.no_grad():
            # a convention absent from every rank: nothing to learn from
            seen = total > 0
            self.num_batches_tracked.add_(1)
            momentum = (1.0 / float(self.num_batches_tracked)
                        if self.momentum is None else self.momentum)
            unbiased = var * (total / (total - 1).clamp(min=1))
            self.running_mean.copy_(torch.where(
                seen, self.running_mean.lerp(mean, momentum),
                self.running_mean))
            self.running_var.copy_(torch.where(
                seen, self.running_var.lerp(unbiased, momentum),
                self.running_var))
        out = (x - mean.view(view)) * torch.rsqrt(var + self.eps).view(view)
        if self.affine:
            out = out * self.weight.view(view) + self.bias.view(view)
        return out.to(dtype)


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm of ``module`` by :class:`MaskedSyncBatchNorm`
    sharing its parameters and statistics (mmengine's ``sync_bn`` for this
    plugin's models).

    Args:
        module (nn.Module): The model (or any module).

    Returns:
        nn.Module: The converted module (the same object unless it is itself
        a BatchNorm).
    """
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
            module, MaskedSyncBatchNorm):
        synced = MaskedSyncBatchNorm(module.num_features, module.eps,
                                     module.momentum, module.affine,
                                     module.track_running_stats)
        if module.affine:
            synced.weight, synced.bias = module.weight, module.bias
        if module.track_running_stats:
            synced.running_mean = module.running_mean
            synced.running_var = module.running_var
            synced.num_batches_tracked = module.num_batches_tracked
        synced.train(module.training)
        return synced
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child))
    return module
