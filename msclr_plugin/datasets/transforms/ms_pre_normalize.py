"""Per-convention normalisation of position and orientation by layout roles."""
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from msclr_plugin.skeletons import get_layout

_AXES = {'x': 0, 'y': 1, 'z': 2}


def _rotation_onto(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotation matrix taking unit vector ``src`` onto unit vector ``dst``
    (Rodrigues)."""
    cross = np.cross(src, dst)
    cos = float(np.dot(src, dst))
    sin = float(np.linalg.norm(cross))
    if sin < 1e-8:
        if cos > 0:
            return np.eye(3)
        # opposite: half a turn about any axis perpendicular to src
        perp = np.cross(src, np.eye(3)[np.argmin(np.abs(src))])
        perp /= np.linalg.norm(perp)
        return 2 * np.outer(perp, perp) - np.eye(3)
    k = np.array([[0, -cross[2], cross[1]], [cross[2], 0, -cross[0]],
                  [-cross[1], cross[0], 0]])
    return np.eye(3) + k + k @ k * ((1 - cos) / sin**2)


@TRANSFORMS.register_module()
class MSPreNormalize(BaseTransform):
    """Centre and orient a skeleton using its layout's roles.

    In this order, on the frames where a person is present (all-zero persons
    and frames stay zero):

    1. ``center='per_frame'``: subtract the ``center_role`` position per
       person and frame (AimCLR subtracts Kinect joint 21, the ``neck`` role
       SpineShoulder); ``'first_frame'``: subtract its position in the first
       present frame of the first present person (mmaction
       ``PreNormalize3D``); None: no centring.
    2. ``align_spine`` (``'x'``/``'y'``/``'z'`` or None): one rotation taking
       ``pelvis -> neck`` of that first frame onto that axis (mmaction
       ``PreNormalize3D`` uses ``'z'``).
    3. ``align_shoulders``: per person and frame, rotate about the up axis
       (``align_spine`` if given, else ``up_axis``) so that ``right_shoulder
       - left_shoulder`` points to ``+x`` (AimCLR's y-rotation). Unlike
       AimCLR, whose rotation sign is decided once per sequence (so frames
       whose shoulder line has the other z sign are rotated the wrong way),
       the angle is ``atan2`` per frame and the alignment is exact.

    Required Keys: ``keypoint`` (M, T, V, 3), ``skeleton`` (layout name)
    Modified Keys: ``keypoint``

    Args:
        center (str, optional): ``'per_frame'``, ``'first_frame'`` or None.
            Defaults to ``'per_frame'``.
        center_role (str): Defaults to ``'neck'``.
        align_spine (str, optional): Defaults to None.
        align_shoulders (bool): Defaults to True.
        up_axis (str): Vertical axis when ``align_spine`` is None.
            Defaults to ``'y'`` (Kinect camera space).
    """

    def __init__(self,
                 center: Optional[str] = 'per_frame',
                 center_role: str = 'neck',
                 align_spine: Optional[str] = None,
                 align_shoulders: bool = True,
                 up_axis: str = 'y') -> None:
        if center not in ('per_frame', 'first_frame', None):
            raise ValueError("center must be 'per_frame', 'first_frame' or "
                             f'None, got {center!r}')
        for axis in (align_spine, up_axis):
            if axis is not None and axis not in _AXES:
                raise ValueError(f'axes are x, y or z, got {axis!r}')
        up = align_spine or up_axis
        if align_shoulders and up == 'x':
            raise ValueError('shoulders are aligned to +x: the up axis '
                             'cannot be x')
        self.center = center
        self.center_role = center_role
        self.align_spine = align_spine
        self.align_shoulders = align_shoulders
        self.up_axis = up_axis

    def transform(self, results: Dict) -> Dict:
        kp = np.array(results['keypoint'], dtype=np.float32)
        if kp.shape[-1] != 3:
            raise ValueError(f'MSPreNormalize needs 3D keypoints, got C = '
                             f'{kp.shape[-1]}')
        layout = get_layout(results['skeleton'])
        present = kp.any(axis=(2, 3))  # (M, T)
        if not present.any():
            results['keypoint'] = kp
            return results
        first = np.argwhere(present)[0]
        if self.center == 'per_frame':
            kp -= layout.role_position(kp, self.center_role)[:, :, None]
        elif self.center == 'first_frame':
            kp -= layout.role_position(kp[first[0], first[1]], self.center_role)
        up = self.up_axis
        if self.align_spine is not None:
            up = self.align_spine
            frame = kp[first[0], first[1]]
            spine = layout.role_position(frame, 'neck') - \
                layout.role_position(frame, 'pelvis')
            norm = np.linalg.norm(spine)
            if norm > 0:
                rot = _rotation_onto(spine / norm, np.eye(3)[_AXES[up]])
                kp = kp @ rot.T.astype(np.float32)
        if self.align_shoulders:
            # rotate in the plane (x, h), h the horizontal axis that is not x
            h = 3 - _AXES[up]
            line = layout.role_position(kp, 'right_shoulder') - \
                layout.role_position(kp, 'left_shoulder')
            length = np.hypot(line[..., 0], line[..., h])
            safe = np.where(length > 0, length, 1)
            cos = np.where(length > 0, line[..., 0] / safe, 1)[..., None]
            sin = np.where(length > 0, line[..., h] / safe, 0)[..., None]
            x, other = kp[..., 0].copy(), kp[..., h].copy()
            kp[..., 0] = cos * x + sin * other
            kp[..., h] = cos * other - sin * x
        kp *= present[:, :, None, None]
        results['keypoint'] = kp
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(center={self.center!r}, '
                f'center_role={self.center_role!r}, align_spine='
                f'{self.align_spine!r}, align_shoulders='
                f'{self.align_shoulders}, up_axis={self.up_axis!r})')
