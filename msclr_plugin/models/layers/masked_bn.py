"""BatchNorm that ignores padded joints."""
from typing import Optional

import torch
import torch.nn as nn


class MaskedBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over ``(N, C, T, V)`` whose batch statistics can
    exclude padded joints.

    With ``mask=None`` (every batch of a single convention at its native
    joint count) this is exactly ``nn.BatchNorm2d``. With a ``(N, V)`` bool
    mask in training mode, mean and variance are taken over the real joints
    only and the running statistics are updated from them exactly as
    ``nn.BatchNorm2d`` would from a batch holding just those joints (unbiased
    variance for the running estimate). Padded positions are normalised with
    the same statistics; they never reach a real joint downstream.
    """

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        use_batch_stats = self.training or not self.track_running_stats
        if mask is None or not use_batch_stats:
            return super().forward(x)
        # statistics in float32 under autocast (bf16/fp16 activations), as
        # nn.BatchNorm2d does; the output keeps the activation dtype
        dtype = x.dtype
        if dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        # (N, 1, 1, V) weights over (N, T, V) positions
        weight = mask[:, None, None, :].to(x.dtype)
        count = weight.sum() * x.shape[2]
        mean = (x * weight).sum(dim=(0, 2, 3)) / count
        centred = x - mean[None, :, None, None]
        var = (centred.square() * weight).sum(dim=(0, 2, 3)) / count
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            momentum = (1.0 / float(self.num_batches_tracked)
                        if self.momentum is None else self.momentum)
            with torch.no_grad():
                unbiased = var * (count / (count - 1).clamp(min=1))
                # through .data, as nn.BatchNorm2d's kernel updates them:
                # an unmasked call of this step saved them for backward
                # and checks their version
                self.running_mean.data.lerp_(mean.detach(), momentum)
                self.running_var.data.lerp_(unbiased.detach(), momentum)
        out = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            out = out * self.weight[None, :, None, None] + \
                self.bias[None, :, None, None]
        return out.to(dtype)
