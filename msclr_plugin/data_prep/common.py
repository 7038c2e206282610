"""Shared helpers of the converters: checks, resampling, AimCLR-style
normalisation and a skip report."""
from collections import Counter
from typing import Dict, List, Optional

import numpy as np

from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike


class ConversionError(ValueError):
    """A clip that cannot be converted; the message names file and clip."""


def check_keypoint(kp: np.ndarray, layout: LayoutLike, where: str) -> np.ndarray:
    """Validate ``(M, T, V, C)`` against a layout; return it as float32.

    Args:
        kp (np.ndarray): Keypoints ``(M, T, V, C)``.
        layout (str | dict | SkeletonLayout): The convention of ``kp``.
        where (str): File and clip named in error messages.

    Raises:
        ConversionError: wrong rank or joint count, zero frames, NaN/inf.
    """
    layout = get_layout(layout)
    kp = np.asarray(kp, dtype=np.float32)
    if kp.ndim != 4 or kp.shape[2] != layout.num_joints:
        raise ConversionError(
            f'{where}: expected (M, T, {layout.num_joints}, C) for layout '
            f'{layout.name}, got {kp.shape}')
    if kp.shape[1] == 0:
        raise ConversionError(f'{where}: zero frames')
    if not np.isfinite(kp).all():
        raise ConversionError(f'{where}: NaN or infinite coordinates')
    return kp


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


def aimclr_preprocess(kp: np.ndarray,
                      layout: LayoutLike,
                      length: int = 50) -> np.ndarray:
    """AimCLR's 50-frame normalisation, driven by the layout's roles.

    Per body: subtract the ``neck`` role (SpineShoulder for Kinect v2) per
    frame; resample linearly to ``length`` frames; rotate each frame about
    the y axis so that the shoulder line (``right_shoulder`` minus
    ``left_shoulder``, y dropped) points along +x. Frames where a body is
    absent (all zeros) stay zero.

    Deliberate difference: AimCLR takes the rotation's sign once per
    sequence (from the summed z of the shoulder line), which misaligns frames
    where that z changes sign; here every frame is aligned exactly
    (``atan2``). The two agree when the sign does not change.

    Args:
        kp (np.ndarray): ``(M, T, V, C)`` with ``C >= 3`` (x, y, z first).
        layout (str | dict | SkeletonLayout): The convention of ``kp``.
        length (int): Output frames. Defaults to 50.

    Returns:
        np.ndarray: ``(M, length, V, C)`` float32.
    """
    layout = get_layout(layout)
    kp = np.asarray(kp, dtype=np.float32).copy()
    present = np.abs(kp[..., :3]).sum(axis=(-1, -2)) > 0  # (M, T)
    kp[..., :3] -= layout.role_position(kp[..., :3], 'neck')[..., None, :]
    kp[~present] = 0
    kp = resample_frames(kp, length)
    vec = (layout.role_position(kp[..., :3], 'right_shoulder') -
           layout.role_position(kp[..., :3], 'left_shoulder'))  # (M, T, 3)
    # angle that takes (vx, vz) onto +x with R_y = [[c,0,-s],[0,1,0],[s,0,c]]
    theta = -np.arctan2(vec[..., 2], vec[..., 0])
    c, s = np.cos(theta)[..., None], np.sin(theta)[..., None]
    x, z = kp[..., 0].copy(), kp[..., 2].copy()
    kp[..., 0] = c * x - s * z
    kp[..., 2] = s * x + c * z
    return kp.astype(np.float32)


class SkipReport:
    """Clips left out of a store, with reasons (written to ``skipped``)."""

    def __init__(self) -> None:
        self.items: List[Dict[str, str]] = []

    def add(self, clip: str, reason: str, kind: Optional[str] = None) -> None:
        self.items.append(dict(clip=clip, reason=reason, kind=kind or reason))

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> Counter:
        return Counter(item['kind'] for item in self.items)

    def summary(self, kept: int) -> str:
        lines = [f'kept {kept} clips, skipped {len(self)}']
        for kind, num in self.counts().most_common():
            lines.append(f'  {num:6d} x {kind}')
        for item in self.items[:20]:
            lines.append(f'    {item["clip"]}: {item["reason"]}')
        if len(self) > 20:
            lines.append(f'    ... ({len(self) - 20} more in index.json '
                         '"skipped")')
        return '\n'.join(lines)
