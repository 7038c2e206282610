"""Exact t-SNE (van der Maaten & Hinton, 2008) in torch, for a few thousand
points on a CPU.

Every pairwise affinity is computed (O(N^2) memory and time per iteration),
which is fine up to N of a few thousand and avoids an extra dependency.
The optimiser follows the paper: early exaggeration, momentum switched from
0.5 to 0.8, and per-coordinate adaptive gains (Jacobs, 1988). The learning
rate defaults to ``max(N / exaggeration / 4, 50)`` (Belkina et al., 2019),
which scales with N where the paper's fixed 100-200 would stall for large N.
"""
from typing import Optional, Union

import numpy as np
import torch

_PCA_DIMS = 50
_SWITCH_ITER = 250  # end of early exaggeration and of the low momentum


def _squared_distances(x: torch.Tensor) -> torch.Tensor:
    sq = (x * x).sum(1)
    return (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_(min=0)


def _pca(x: torch.Tensor, dims: int) -> torch.Tensor:
    x = x - x.mean(0)
    if x.shape[1] <= dims:
        return x
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    return u[:, :dims] * s[:dims]


def _conditional_affinities(dist: torch.Tensor, perplexity: float,
                            tol: float = 1e-5,
                            max_steps: int = 200) -> torch.Tensor:
    """Rows ``p_{j|i}`` whose entropy is ``log(perplexity)``, found by a
    bisection on each row's Gaussian precision ``beta`` (all rows at once).

    Args:
        dist (torch.Tensor): ``(N, N)`` squared distances.
        perplexity (float): Target perplexity of every row.
        tol (float): Entropy tolerance in nats.
        max_steps (int): Bisection steps at most.

    Returns:
        torch.Tensor: ``(N, N)`` row-stochastic matrix, zero diagonal.
    """
    n = dist.shape[0]
    off = ~torch.eye(n, dtype=torch.bool)
    d = dist[off].view(n, n - 1)
    target = float(np.log(perplexity))
    # start where exp(-beta * d) is of order 1 for a typical neighbour
    beta = 1.0 / d.mean(1).clamp(min=1e-12)
    lo = torch.zeros_like(beta)
    hi = torch.full_like(beta, float('inf'))
    for _ in range(max_steps):
        logp = torch.log_softmax(-beta[:, None] * d, dim=1)
        entropy = -(logp.exp() * logp).sum(1)
        diff = entropy - target
        if diff.abs().max() < tol:
            break
        # too flat (entropy too high): sharpen the Gaussian, else widen it
        flat = diff > 0
        lo = torch.where(flat, beta, lo)
        hi = torch.where(flat, hi, beta)
        beta = torch.where(
            torch.isinf(hi), beta * 2,
            torch.where(lo == 0, beta / 2, (lo + hi) / 2))
    p = torch.zeros_like(dist)
    p[off] = logp.exp().flatten()
    return p


def tsne(features: Union[np.ndarray, torch.Tensor],
         perplexity: float = 30.,
         num_iters: int = 1000,
         seed: int = 0,
         early_exaggeration: float = 12.,
         learning_rate: Optional[float] = None) -> np.ndarray:
    """Embed features in 2-D with exact t-SNE.

    Features are centred and reduced to at most 50 dimensions by PCA, each
    point's Gaussian bandwidth is calibrated to ``perplexity``, the
    symmetrised affinities are matched by a Student-t map. Exaggeration and
    momentum 0.5 hold for the first 250 iterations, momentum 0.8 after.
    Deterministic for a given ``seed`` (the initial map is
    ``N(0, 1e-4^2)``).

    Args:
        features (np.ndarray | torch.Tensor): ``(N, D)`` finite values.
        perplexity (float): Effective number of neighbours, below ``N - 1``.
            Defaults to 30.
        num_iters (int): Gradient steps. Defaults to 1000.
        seed (int): Seed of the initial map. Defaults to 0.
        early_exaggeration (float): Factor on P for the first 250
            iterations. Defaults to 12.
        learning_rate (float, optional): Step size. Defaults to
            ``max(N / early_exaggeration / 4, 50)``.

    Returns:
        np.ndarray: ``(N, 2)`` float32 coordinates.
    """
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if x.dim() != 2:
        raise ValueError(f'features must be (N, D), got shape {tuple(x.shape)}')
    n = x.shape[0]
    if perplexity <= 0:
        raise ValueError(f'perplexity must be positive, got {perplexity}')
    if n - 1 <= perplexity:
        raise ValueError(
            f'{n} points are too few for perplexity {perplexity}: every '
            'point has N - 1 neighbours and the perplexity must be below '
            'that (lower --perplexity or embed more points)')
    if not torch.isfinite(x).all():
        raise ValueError('features contain NaN or infinite values')
    if num_iters < 1:
        raise ValueError(f'num_iters must be >= 1, got {num_iters}')

    cond = _conditional_affinities(
        _squared_distances(_pca(x, _PCA_DIMS)), perplexity)
    p = ((cond + cond.T) / (2 * n)).clamp(min=1e-12).float()
    p.fill_diagonal_(0)
    if learning_rate is None:
        learning_rate = max(n / early_exaggeration / 4, 50.)

    gen = torch.Generator().manual_seed(seed)
    y = torch.randn(n, 2, generator=gen) * 1e-4
    step = torch.zeros_like(y)
    gains = torch.ones_like(y)
    for it in range(num_iters):
        early = it < _SWITCH_ITER
        kernel = 1 / (1 + _squared_distances(y))
        kernel.fill_diagonal_(0)
        q = kernel / kernel.sum()
        # dC/dy_i = 4 sum_j (p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j)
        w = ((early_exaggeration if early else 1.) * p - q) * kernel
        grad = 4 * (w.sum(1, keepdim=True) * y - w @ y)
        # gains grow where the gradient turned against the last step
        flipped = (grad > 0) != (step > 0)
        gains = torch.where(flipped, gains + 0.2, gains * 0.8).clamp_(min=0.01)
        step = (0.5 if early else 0.8) * step - learning_rate * gains * grad
        y = y + step
        y = y - y.mean(0)
    return y.numpy().astype(np.float32)
