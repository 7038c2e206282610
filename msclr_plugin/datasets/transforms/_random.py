"""Per-process random generators for the stochastic transforms."""
import os
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

# SplitMix64: increment (golden ratio) and the finaliser's two multipliers
_GOLDEN, _MUL1, _MUL2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_MASK64 = (1 << 64) - 1


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 of ``x + golden``: a cheap, well-spread hash (vectorised
    over uint64 arrays; see :func:`mix64_int` for one Python int)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over='ignore'):
        x = x + np.uint64(_GOLDEN)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(_MUL1)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(_MUL2)
    return x ^ (x >> np.uint64(31))


def mix64_int(x: int) -> int:
    """:func:`mix64` of one Python int (no numpy overhead)."""
    x = (x + _GOLDEN) & _MASK64
    x = ((x ^ (x >> 30)) * _MUL1) & _MASK64
    x = ((x ^ (x >> 27)) * _MUL2) & _MASK64
    return x ^ (x >> 31)


# bumped in every forked child: cheaper than comparing os.getpid() per call
_FORK_GENERATION = [0]
os.register_at_fork(
    after_in_child=lambda: _FORK_GENERATION.__setitem__(0, _FORK_GENERATION[0] + 1))


class RandomTransform(BaseTransform):
    """Base of the random transforms: a generator per sample or per process.

    A transform draws from ``results['rng']`` when the results carry one:
    :class:`MSMultiView` puts there a Philox generator keyed by (seed, epoch, index) for
    every item of a :class:`MultiSkeletonDataset`, so an item's augmentation
    depends on the run's seed, the epoch and the item only, not on which
    worker builds it or on what that worker built before. This is what makes
    kill-and-resume exact and results independent of ``num_workers``.

    Otherwise each transform keeps a generator per process. Without ``seed`` each process (dataloader worker) seeds its generator
    from ``np.random``, which mmengine's ``worker_init_fn`` seeds per worker
    and rank when ``randomness.seed`` is set: runs are reproducible and
    workers differ. With ``seed`` the stream is ``default_rng([seed,
    worker id])``. The generator is rebuilt after a fork so that
    workers never share a copied stream.

    Args:
        seed (int, optional): Seed of this transform. Defaults to None.
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = seed
        self._rng = None
        self._generation = None

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None or self._generation != _FORK_GENERATION[0]:
            if self.seed is None:
                entropy = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
            else:
                from torch.utils.data import get_worker_info
                info = get_worker_info()
                entropy = [self.seed, info.id if info is not None else 0]
            self._rng = np.random.default_rng(entropy)
            self._generation = _FORK_GENERATION[0]
        return self._rng

    def rng_for(self, results: dict) -> np.random.Generator:
        """The generator of this call: the sample's, else the process's."""
        rng = results.get('rng')
        return self.rng if rng is None else rng

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_rng'] = None
        return state


def apply_linear(kp: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """``p' = mat @ p`` for every point of ``kp`` ``(..., C)``.

    Computed as ``mat @ flat.T`` (a ``(C, C) x (C, N)`` product, which BLAS
    does much faster than ``(N, C) x (C, C)``) and returned as the
    transposed view: the result is channel-planar, not C-contiguous, which
    the following transforms and ``np.ascontiguousarray`` handle.
    """
    channels = kp.shape[-1]
    flat = kp.reshape(-1, channels)
    return (mat.astype(np.float32) @ flat.T).T.reshape(kp.shape)
