"""The graph convolution's product ``sum_k (W_k x + b_k) A_k``, plain and
with the pointwise convolution's output recomputed in backward.

The plain form keeps the ``1x1`` convolution's output for backward (the
matmul needs it for the adjacency's gradient): ``K`` times the block's
width, the largest tensor a block keeps (about 40% of what an AimCLR block
keeps in training). :class:`RecomputedGraphConv` keeps only the
convolution's input, which the previous layer keeps anyway, and runs the
convolution again in backward, only when the adjacency needs a gradient.
"""
from typing import Optional

import torch
import torch.nn.functional as F


def graph_product(z: torch.Tensor, A: torch.Tensor,
                  num_subsets: int) -> torch.Tensor:
    """``sum_k z_k A_k``.

    Args:
        z (torch.Tensor): ``(N, K * C, T, V)``, the pointwise convolution's
            output.
        A (torch.Tensor): ``(K, V, V)`` shared or ``(N, K, V, V)`` per
            sample.
        num_subsets (int): K.

    Returns:
        torch.Tensor: ``(N, C, T, V)``.
    """
    n, _, t, v = z.shape
    # one batched matmul over (n, k) and a sum over k: about 1.5x faster
    # (forward + backward) on CPU than the einsum, which copies z into a
    # (n*c*t, k*v) layout first
    out = torch.matmul(_subsets(z, num_subsets),
                       A.unsqueeze(0) if A.dim() == 3 else A).sum(1)
    return out.view(n, -1, t, v)


def _subsets(z: torch.Tensor, num_subsets: int) -> torch.Tensor:
    """``(N, K * C, T, V)`` -> ``(N, K, C * T, V)`` (a copy when ``z`` is
    channels-last, as a convolution's output can be)."""
    n, _, t, v = z.shape
    return z.view(n, num_subsets, -1, t, v).flatten(2, 3)


class RecomputedGraphConv(torch.autograd.Function):
    """``graph_product(conv2d(x, weight, bias), A)`` keeping ``x`` instead
    of the convolution's output; same values and gradients as the plain
    form (also under autocast: backward recomputes in the forward's dtype).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor,
                bias: Optional[torch.Tensor], A: torch.Tensor,
                num_subsets: int) -> torch.Tensor:
        z = F.conv2d(x, weight, bias)
        ctx.save_for_backward(x, weight, bias, A)
        ctx.num_subsets = num_subsets
        ctx.dtype = z.dtype  # the autocast dtype, if any
        return graph_product(z, A, num_subsets)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight, bias, A = ctx.saved_tensors
        dtype, k = ctx.dtype, ctx.num_subsets
        xc, wc = x.to(dtype), weight.to(dtype)
        bc = None if bias is None else bias.to(dtype)
        n, _, t, v = x.shape
        A_b = A.to(dtype)
        A_b = A_b.unsqueeze(0) if A.dim() == 3 else A_b
        grad = grad.to(dtype).reshape(n, 1, -1, v)
        grad_A = None
        if ctx.needs_input_grad[3]:
            z = _subsets(F.conv2d(xc, wc, bc), k)
            grad_A = torch.matmul(z.transpose(-1, -2), grad)
            del z
            grad_A = (grad_A.sum(0) if A.dim() == 3 else grad_A).to(A.dtype)
        grad_z = torch.matmul(grad, A_b.transpose(-1, -2)).view(n, -1, t, v)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_z, xc, wc, None if bc is None else [bc.shape[0]], [1, 1],
            [0, 0], [1, 1], False, [0, 0], 1, [need_x, need_w, need_b
                                               and bias is not None])
        return (None if grad_x is None else grad_x.to(x.dtype),
                None if grad_w is None else grad_w.to(weight.dtype),
                None if grad_b is None else grad_b.to(bias.dtype), grad_A,
                None)
