"""One frame for every convention of a clip: source axes, body normalisation
and the body axes that the store checker compares.

The store frame is Kinect v2 camera space (NTU): metres, y up, right-handed,
z the depth away from the camera. A source in another frame is brought into
it by :func:`to_store_frame` with what the user states about the source
(units, which axis points up, mirror image); nothing is guessed from the
data. :func:`normalize_body` then applies the AimCLR/CrosSCLR-style
pre-normalisation with each convention's own layout roles (centre joint,
vertical axis, shoulder line), so that the conventions of a clip coincide.
Both are recorded per convention in the store (``source`` and ``normalize``
of ``index.json``).
"""
from typing import Dict, Optional, Union

import numpy as np

from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike

# Proper rotations (det +1) taking the source's up axis onto +y. A y-down
# camera frame (OpenCV, MediaPipe, MeTRAbs) is turned half a turn about z,
# which keeps z as the depth away from the camera, as in Kinect space.
UP_ROTATIONS = {
    '+y': np.eye(3),
    '-y': np.diag([-1., -1., 1.]),
    '+z': np.array([[1., 0, 0], [0, 0, 1], [0, -1, 0]]),
    '-z': np.array([[1., 0, 0], [0, 0, -1], [0, 1, 0]]),
    '+x': np.array([[0., -1, 0], [1, 0, 0], [0, 0, 1]]),
    '-x': np.array([[0., 1, 0], [-1, 0, 0], [0, 0, 1]]),
}
# the same as words (command lines: a value starting with '-' reads as an
# option)
UP_NAMES = {f'{a}-{d}': f'{s}{a}' for a in 'xyz' for d, s in (('up', '+'),
                                                              ('down', '-'))}

# Body normalisations by name; see normalize_body for the keys.
NORMALIZE_PRESETS = {
    'none': None,
    'center': dict(center='neck', vertical=None, shoulders=None, length=None),
    # AimCLR/CrosSCLR: neck role per frame, 50 frames, shoulders along +x
    'aimclr': dict(center='neck', vertical=None, shoulders='frame', length=50),
    # 2s-AGCN-style pre-normalisation, y up: one rotation per clip
    'body': dict(center='neck', vertical='clip', shoulders='clip', length=None),
}


def source_frame(scale: float = 1.0, up: str = '+y', mirror: bool = False) -> dict:
    """The checked record of a source's units and axes (``source`` in
    ``index.json``).

    Args:
        scale (float): Multiplies x, y, z into metres (0.001 for mm).
        up (str): The source axis pointing up: ``+y`` (Kinect, BVH), ``-y``
            (image-like camera frames: OpenCV, MediaPipe, MeTRAbs), ``+z``
            (z-up worlds), ``-z``, ``+x``, ``-x``; or as words, ``y-up``,
            ``y-down``, ``z-up``, ... ``y`` means ``+y``.
        mirror (bool): The source is a mirror image of the store frame
            (other handedness, e.g. estimated on mirrored video without
            flipping back): x is negated after the rotation.
    """
    up = UP_NAMES.get(up, up if up[:1] in '+-' else '+' + up)
    if up not in UP_ROTATIONS:
        raise ValueError(f'up must be one of {sorted(UP_NAMES)} (or '
                         f'{sorted(UP_ROTATIONS)}), got {up!r}')
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f'scale must be a positive number, got {scale}')
    return dict(scale=scale, up=up, mirror=bool(mirror))


def to_store_frame(kp: np.ndarray, source: Optional[dict] = None) -> np.ndarray:
    """Bring ``(..., C)`` coordinates (x, y, z first; later channels such as
    scores are kept) into the store frame (a new float32 array).

    Args:
        kp (np.ndarray): Keypoints ``(..., C)``, ``C >= 3``.
        source (dict, optional): :func:`source_frame` keys. None: identity.
    """
    kp = np.array(kp, dtype=np.float32)
    if not source:
        return kp
    source = source_frame(**source)
    rot = UP_ROTATIONS[source['up']] * source['scale']
    if source['mirror']:
        rot = np.diag([-1., 1., 1.]) @ rot
    if not np.array_equal(rot, np.eye(3)):
        kp[..., :3] = kp[..., :3] @ rot.T.astype(np.float32)
    return kp


def resolve_normalize(spec: Union[str, dict, None]) -> Optional[dict]:
    """A preset name (``none``, ``center``, ``aimclr``, ``body``) or a dict
    of :func:`normalize_body` keys -> the full record, or None."""
    if isinstance(spec, str):
        if spec not in NORMALIZE_PRESETS:
            raise ValueError(f'unknown normalisation {spec!r}; presets: '
                             f'{sorted(NORMALIZE_PRESETS)}')
        preset = NORMALIZE_PRESETS[spec]
        return None if preset is None else dict(preset, preset=spec)
    if not spec:
        return None
    spec = dict(spec)
    name = spec.pop('preset', None)
    full = dict(center=None, vertical=None, shoulders=None, length=None)
    unknown = set(spec) - set(full)
    if unknown:
        raise ValueError(f'unknown normalisation keys {sorted(unknown)}; '
                         f'known: {sorted(full)}')
    full.update(spec)
    for key in ('vertical', 'shoulders'):
        if full[key] not in (None, 'clip', 'frame'):
            raise ValueError(f"normalisation {key} must be None, 'clip' or "
                             f"'frame', got {full[key]!r}")
    if full['vertical'] == 'frame':
        raise ValueError("vertical='frame' would erase bending; use 'clip'")
    if name is not None:
        full['preset'] = name
    return full


def resample_frames(kp: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of ``(..., T, V, C)`` along time to ``length``.

    Uses the half-pixel mapping of ``cv2.resize(..., INTER_LINEAR)``, as
    AimCLR's preprocessing does: output frame ``i`` samples source time
    ``(i + 0.5) * T / length - 0.5``, clamped to ``[0, T - 1]``.
    """
    num = kp.shape[-3]
    if num == length:
        return kp.copy()
    pos = np.clip((np.arange(length) + 0.5) * num / length - 0.5, 0, num - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, num - 1)
    w = (pos - lo).astype(kp.dtype)[:, None, None]
    return kp[..., lo, :, :] * (1 - w) + kp[..., hi, :, :] * w


def _present(kp: np.ndarray) -> np.ndarray:
    """``(M, T)``: whether a person has any non-zero coordinate."""
    return np.abs(kp[..., :3]).sum(axis=(-1, -2)) > 0


def _rotate_about_y(kp: np.ndarray, line: np.ndarray) -> None:
    """Rotate ``kp[..., :3]`` in place about y so that ``line`` (x, z
    components; broadcast over the leading axes of kp) points to +x."""
    theta = -np.arctan2(line[..., 2], line[..., 0])
    c, s = np.cos(theta)[..., None], np.sin(theta)[..., None]
    x, z = kp[..., 0].copy(), kp[..., 2].copy()
    kp[..., 0] = c * x - s * z
    kp[..., 2] = s * x + c * z


def _rotation_onto_y(vec: np.ndarray) -> np.ndarray:
    """Proper rotation taking unit ``vec`` onto +y (Rodrigues)."""
    y = np.array([0., 1., 0.])
    axis = np.cross(vec, y)
    sin, cos = np.linalg.norm(axis), float(vec @ y)
    if sin < 1e-8:
        return np.eye(3) if cos > 0 else np.diag([-1., -1., 1.])
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]],
                  [-axis[1], axis[0], 0]])
    return np.eye(3) + k + k @ k * ((1 - cos) / sin**2)


def _mean_direction(vec: np.ndarray) -> Optional[np.ndarray]:
    """Mean of the unit vectors among ``(T, 3)`` (zero rows ignored)."""
    norm = np.linalg.norm(vec, axis=-1)
    ok = norm > 1e-8
    if not ok.any():
        return None
    mean = (vec[ok] / norm[ok, None]).mean(0)
    length = np.linalg.norm(mean)
    return mean / length if length > 1e-8 else None


def normalize_body(kp: np.ndarray,
                   layout: LayoutLike,
                   center: Optional[str] = 'neck',
                   vertical: Optional[str] = None,
                   shoulders: Optional[str] = 'frame',
                   length: Optional[int] = None,
                   **_) -> np.ndarray:
    """Centre and orient a clip by its layout's roles.

    In this order:

    1. ``center``: per body and frame, subtract that role's position
       (AimCLR: the ``neck`` role, Kinect SpineShoulder). None: no centring.
    2. ``length``: resample linearly to that many frames.
    3. ``vertical='clip'``: one rotation for the whole clip taking the mean
       ``pelvis -> neck`` direction of body 0 onto +y (2s-AGCN takes the
       first frame; the mean is steadier for estimated skeletons).
    4. ``shoulders``: rotate about y so that ``right_shoulder -
       left_shoulder`` points to +x: ``'frame'`` per body and frame
       (AimCLR/CrosSCLR, exactly by ``atan2``; AimCLR decides the sign once
       per sequence), ``'clip'`` once from body 0's mean shoulder line.

    Frames where a body is absent (all zeros) stay zero. Only x, y, z are
    changed (channels after the third, e.g. scores, are kept).

    Args:
        kp (np.ndarray): ``(M, T, V, C)`` with ``C >= 3``, in the store
            frame (y up).
        layout (str | dict | SkeletonLayout): The convention of ``kp``.

    Returns:
        np.ndarray: ``(M, T', V, C)`` float32.
    """
    layout = get_layout(layout)
    kp = np.array(kp, dtype=np.float32)
    present = _present(kp)
    if center is not None:
        kp[..., :3] -= layout.role_position(kp[..., :3], center)[..., None, :]
        kp[~present] = 0
    if length is not None:
        kp = resample_frames(kp, int(length))
    main = kp[0, _present(kp)[0], :, :3]
    if vertical == 'clip' and len(main):
        up = _mean_direction(
            layout.role_position(main, 'neck') - layout.role_position(main, 'pelvis'))
        if up is not None:
            kp[..., :3] = kp[..., :3] @ _rotation_onto_y(up).T.astype(np.float32)
            main = kp[0, _present(kp)[0], :, :3]
    if shoulders == 'frame':
        _rotate_about_y(
            kp, layout.role_position(kp[..., :3], 'right_shoulder') -
            layout.role_position(kp[..., :3], 'left_shoulder'))
    elif shoulders == 'clip' and len(main):
        line = layout.role_position(main, 'right_shoulder') - \
            layout.role_position(main, 'left_shoulder')
        line = _mean_direction(line * [1, 0, 1])
        if line is not None:
            _rotate_about_y(kp, line)
    return kp.astype(np.float32)


# roles the checker compares; 'head' is optional (facing)
AXIS_ROLES = ('pelvis', 'neck', 'left_shoulder', 'right_shoulder')


def body_axes(kp: np.ndarray, layout: LayoutLike,
              coords: int = 3) -> Dict[str, np.ndarray]:
    """Per-frame body axes of body 0, for comparing conventions.

    Args:
        kp (np.ndarray): ``(M, T, V, C)``.
        layout (str | dict | SkeletonLayout): Needs the roles ``pelvis``,
            ``neck``, ``left_shoulder``, ``right_shoulder`` (``head`` for
            ``facing``).
        coords (int): Coordinate channels (2 for image keypoints with a
            score channel; the missing z is 0).

    Returns:
        dict: ``(T, ...)`` arrays, NaN where body 0 is absent or an axis is
        degenerate: ``pelvis`` and ``neck`` (role positions), ``up`` (unit
        pelvis -> neck), ``lr`` (unit left -> right shoulder), ``torso``
        (pelvis-neck length), ``facing`` (head offset from the neck along
        ``+y x lr``, the horizontal direction the body faces in a y-up
        frame, in torso lengths; positive for a body whose head is in front
        of its shoulders, NaN without a head role). The store's vertical,
        not the convention's own pelvis -> neck, defines ``facing``: the
        roles of two conventions may lean differently (Kinect v1's hip
        centre lies behind its hips) while their heads face the same way.
    """
    layout = get_layout(layout)
    pts = np.zeros(kp.shape[1:3] + (3, ))  # (T, V, 3)
    xyz = kp[0, ..., :min(coords, 3)]
    pts[..., :xyz.shape[-1]] = xyz
    role = {r: layout.role_position(pts, r) for r in AXIS_ROLES}
    absent = ~_present(pts[None])[0]
    up = role['neck'] - role['pelvis']
    torso = np.linalg.norm(up, axis=-1)
    lr = role['right_shoulder'] - role['left_shoulder']
    width = np.linalg.norm(lr, axis=-1)
    bad = absent | (torso < 1e-6) | (width < 1e-6)
    with np.errstate(invalid='ignore', divide='ignore'):
        up = up / torso[:, None]
        lr = lr / width[:, None]
        out = dict(
            pelvis=role['pelvis'], neck=role['neck'], up=up, lr=lr, torso=torso)
        if 'head' in layout.roles:
            fwd = np.cross([0., 1., 0.], lr)
            fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
            head = layout.role_position(pts, 'head') - role['neck']
            out['facing'] = (head * fwd).sum(-1) / torso
        else:
            out['facing'] = np.full(len(pts), np.nan)
    for value in out.values():
        value[bad] = np.nan
    return out
