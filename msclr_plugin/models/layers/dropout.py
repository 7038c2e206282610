"""Dropout with a cheap random mask on CPU.

``nn.Dropout`` on CPU draws one Bernoulli sample per element (about 15 ns
each, largely on one core) and keeps a float mask for backward: 18-24% of an
AimCLR step (PERF_NOTES). Here each element gets its own uniform byte (when
``256 * p`` is an integer; else 16 bits), cut from raw 64-bit random words
(one draw per eight or four elements) and compared against a threshold, and
backward keeps a 1-byte mask. It is still a true dropout: every element is
kept independently with probability ``1 - p'`` and scaled by ``1 / (1 - p')``,
so the expectation is preserved exactly; ``p'`` is ``p`` rounded to a
multiple of 1/65536 (``p`` itself when ``256 * p`` is an integer, e.g.
AimCLR's 0.5). CUDA tensors use torch's fused kernel.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def keep_mask(x: torch.Tensor, p: float):
    """``(bool mask shaped like x, keep probability actually used)``.

    Args:
        x (torch.Tensor): The tensor to mask (only its shape and device).
        p (float): Drop probability in ``(0, 1)``.
    """
    n = x.numel()
    if float(p * 256).is_integer():
        levels, dtype, offset = 256, torch.uint8, 0
    else:
        levels, dtype, offset = 65536, torch.int16, 32768
    threshold = round((1 - p) * levels)
    if not 0 < threshold < levels:
        raise ValueError(f'dropout p={p} rounds to 0 or 1 at 1/{levels}')
    per_word = 8 // torch.empty((), dtype=dtype).element_size()
    # the full int64 range: one raw 64-bit draw per word, every bit uniform
    words = torch.empty(-(-n // per_word), dtype=torch.int64,
                        device=x.device).random_(-2**63, None)
    draws = words.view(dtype)[:n].view(x.shape)
    return draws < threshold - offset, threshold / levels


class _MaskedScale(torch.autograd.Function):
    """``x * mask / keep`` (in place when asked) with a bool mask saved."""

    @staticmethod
    def forward(ctx, x, p, inplace):
        mask, keep = keep_mask(x, p)
        scale = 1.0 / keep
        # multiplying by a bool tensor takes a slow type-promoting loop
        factor = mask.to(x.dtype)
        if inplace:
            ctx.mark_dirty(x)
            out = x.mul_(factor).mul_(scale)
        else:
            out = torch.mul(x, factor).mul_(scale)
        ctx.save_for_backward(mask)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad):
        mask, = ctx.saved_tensors
        return torch.mul(grad, mask.to(grad.dtype)).mul_(ctx.scale), None, None


class MSDropout(nn.Dropout):
    """Drop-in ``nn.Dropout`` (same arguments, no state) whose CPU
    training path draws its mask from packed random bytes.

    Args:
        p (float): Drop probability. Defaults to 0.5.
        inplace (bool): Overwrite the input. Defaults to False.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if x.device.type != 'cpu' or self.p == 1:
            return F.dropout(x, self.p, True, self.inplace)
        return _MaskedScale.apply(x, self.p, self.inplace)
