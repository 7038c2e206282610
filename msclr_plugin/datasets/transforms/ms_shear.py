"""AimCLR's random shear of the coordinates."""
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS

from ._random import RandomTransform, apply_linear


@TRANSFORMS.register_module()
class MSShear(RandomTransform):
    """``p' = S p`` with ``S = [[1, a0, b0], [a1, 1, b1], [a2, b2, 1]]`` and
    the six off-diagonal values drawn from ``U(-amplitude, amplitude)``
    (AimCLR ``shear``; for ``C = 2`` only ``a0, a1``). Always applied.

    Required Keys: ``keypoint`` (M, T, V, C), C in {2, 3}
    Optional Keys: ``rng`` (per-sample generator, see :class:`RandomTransform`)
    Modified Keys: ``keypoint``

    Args:
        amplitude (float): Defaults to 0.5.
        seed (int, optional): See :class:`RandomTransform`.
    """

    def __init__(self, amplitude: float = 0.5, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.amplitude = amplitude

    def transform(self, results: Dict) -> Dict:
        kp = results['keypoint']
        channels = kp.shape[-1]
        if channels not in (2, 3):
            raise ValueError(f'MSShear needs 2D or 3D keypoints, got C = '
                             f'{channels}')
        rng = self.rng_for(results)
        a0, a1, a2, b0, b1, b2 = rng.uniform(-self.amplitude, self.amplitude, 6).tolist()
        mat = np.array([[1, a0, b0], [a1, 1, b1], [a2, b2, 1]],
                       dtype=np.float32)[:channels, :channels]
        results['keypoint'] = apply_linear(kp, mat)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(amplitude={self.amplitude})'
