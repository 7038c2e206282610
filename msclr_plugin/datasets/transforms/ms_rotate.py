"""AimCLR's random 3D rotation."""
import math
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS

from ._random import RandomTransform, apply_linear


def _axis_rotation(axis: int, angle: float) -> np.ndarray:
    """AimCLR's matrices: R_x = [[1,0,0],[0,c,s],[0,-s,c]], R_y = [[c,0,-s],
    [0,1,0],[s,0,c]], R_z = [[c,s,0],[-s,c,0],[0,0,1]]."""
    c, s = math.cos(angle), math.sin(angle)
    if axis == 0:
        return np.array([[1, 0, 0], [0, c, s], [0, -s, c]])
    if axis == 1:
        return np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])


@TRANSFORMS.register_module()
class MSRotate(RandomTransform):
    """Rotate about x, then y, then z (``p' = R_z R_y R_x p``): a main axis
    drawn uniformly gets an angle from ``U(0, main_angle)`` degrees, the two
    others from ``U(0, other_angle)`` (AimCLR ``random_rotate``: positive
    angles only, always applied). Lengths are preserved.

    Required Keys: ``keypoint`` (M, T, V, 3)
    Optional Keys: ``rng`` (per-sample generator, see :class:`RandomTransform`)
    Modified Keys: ``keypoint``

    Args:
        main_angle (float): Degrees. Defaults to 30.
        other_angle (float): Degrees. Defaults to 1.
        seed (int, optional): See :class:`RandomTransform`.
    """

    def __init__(self,
                 main_angle: float = 30.,
                 other_angle: float = 1.,
                 seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.main_angle = main_angle
        self.other_angle = other_angle

    def transform(self, results: Dict) -> Dict:
        kp = results['keypoint']
        if kp.shape[-1] != 3:
            raise ValueError(f'MSRotate needs 3D keypoints, got C = '
                             f'{kp.shape[-1]}')
        draw = self.rng_for(results).random(4)
        main = min(int(draw[0] * 3), 2)
        limits = [self.other_angle] * 3
        limits[main] = self.main_angle
        rot_x, rot_y, rot_z = (
            _axis_rotation(axis, math.radians(draw[axis + 1] * limits[axis]))
            for axis in range(3))
        results['keypoint'] = apply_linear(kp, rot_z @ rot_y @ rot_x)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(main_angle={self.main_angle}, '
                f'other_angle={self.other_angle})')
