"""AimCLR's additive Gaussian noise."""
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS

from ._random import RandomTransform


@TRANSFORMS.register_module()
class MSGaussianNoise(RandomTransform):
    """With probability ``p`` add ``N(mean, std)`` to every coordinate
    (AimCLR ``gaus_noise``).

    Required Keys: ``keypoint`` (M, T, V, C)
    Optional Keys: ``rng`` (per-sample generator, see :class:`RandomTransform`)
    Modified Keys: ``keypoint``

    Args:
        p (float): Defaults to 0.5.
        mean (float): Defaults to 0.
        std (float): Defaults to 0.01.
        seed (int, optional): See :class:`RandomTransform`.
    """

    def __init__(self,
                 p: float = 0.5,
                 mean: float = 0.,
                 std: float = 0.01,
                 seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.p, self.mean, self.std = p, mean, std

    def transform(self, results: Dict) -> Dict:
        rng = self.rng_for(results)
        if rng.random() >= self.p:
            return results
        kp = results['keypoint']
        noise = rng.standard_normal(kp.shape, dtype=np.float32)
        noise *= np.float32(self.std)
        noise += kp
        if self.mean:
            noise += np.float32(self.mean)
        results['keypoint'] = noise
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(p={self.p}, mean={self.mean}, '
                f'std={self.std})')
