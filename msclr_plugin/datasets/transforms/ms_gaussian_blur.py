"""AimCLR's Gaussian blur along time."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmaction.registry import TRANSFORMS

from ._random import RandomTransform


@TRANSFORMS.register_module()
class MSGaussianBlur(RandomTransform):
    """With probability ``p`` convolve every coordinate track along time
    with a Gaussian of ``kernel`` taps, ``sigma ~ U(*sigma)``, zero padding
    (AimCLR ``gaus_filter``).

    AimCLR's kernel ``w_k = exp(-k^2 / (2 sigma^2))`` is NOT normalised: the
    blur also scales the signal by ``sum(w)`` (about 1 for sigma 0.1, 5 for
    sigma 2) and attenuates the edge frames. ``normalize=False`` (default)
    reproduces that; ``normalize=True`` divides by ``sum(w)``.

    The convolution is one ``(T, T)`` banded matrix product, the matrix being
    ``exp(-d^2 / (2 sigma^2))`` of a cached matrix of squared frame distances
    (``inf`` outside the band, so ``exp`` gives 0 there).

    Required Keys: ``keypoint`` (M, T, V, C)
    Optional Keys: ``rng`` (per-sample generator, see :class:`RandomTransform`)
    Modified Keys: ``keypoint``

    Args:
        p (float): Defaults to 0.5.
        kernel (int): Odd number of taps. Defaults to 15.
        sigma (Sequence[float]): Range of sigma. Defaults to (0.1, 2.0).
        normalize (bool): Defaults to False (AimCLR).
        seed (int, optional): See :class:`RandomTransform`.
    """

    def __init__(self,
                 p: float = 0.5,
                 kernel: int = 15,
                 sigma: Sequence[float] = (0.1, 2.0),
                 normalize: bool = False,
                 seed: Optional[int] = None) -> None:
        super().__init__(seed)
        if kernel % 2 != 1:
            raise ValueError(f'kernel must be odd, got {kernel}')
        self.p, self.kernel, self.normalize = p, kernel, normalize
        self.sigma = tuple(sigma)
        self._dist = {}

    def _distances(self, num_frames: int) -> np.ndarray:
        dist = self._dist.get(num_frames)
        if dist is None:
            frames = np.arange(num_frames)
            dist = (frames[:, None] - frames[None]).astype(np.float32)**2
            dist[dist > (self.kernel // 2)**2] = np.inf
            self._dist[num_frames] = dist
        return dist

    def transform(self, results: Dict) -> Dict:
        draw = self.rng_for(results).random(2)
        if draw[0] >= self.p:
            return results
        kp = results['keypoint']
        m, t, v, c = kp.shape
        sigma = self.sigma[0] + draw[1] * (self.sigma[1] - self.sigma[0])
        coef = np.float32(-0.5 / sigma**2)
        band = np.exp(self._distances(t) * coef)
        if self.normalize:
            taps = np.arange(-(self.kernel // 2), self.kernel // 2 + 1)
            band /= np.float32(np.exp(taps**2 * coef).sum())
        flat = np.ascontiguousarray(kp).reshape(m, t, v * c)
        results['keypoint'] = np.matmul(band, flat).reshape(m, t, v, c)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(p={self.p}, kernel='
                f'{self.kernel}, sigma={self.sigma}, '
                f'normalize={self.normalize})')
