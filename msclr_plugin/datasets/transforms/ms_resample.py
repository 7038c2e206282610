"""Resample the valid frames of a clip to a fixed length."""
from typing import Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


def linear_sample_positions(length: int, out_len: int):
    """cv2 ``INTER_LINEAR`` mapping from ``out_len`` to ``length`` samples:
    ``src = (dst + 0.5) * length / out_len - 0.5``, clamped to the ends.

    Returns:
        tuple: ``(i0, i1, w)``: ``out[j] = (1 - w[j]) x[i0[j]] + w[j]
        x[i1[j]]``.
    """
    src = (np.arange(out_len) + 0.5) * (length / out_len) - 0.5
    src = np.clip(src, 0, length - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, length - 1)
    return i0, i1, (src - i0).astype(np.float32)


@TRANSFORMS.register_module()
class MSResample(BaseTransform):
    """Linear interpolation of the valid frames to ``clip_len`` frames.

    A frame is valid when any person has a non-zero coordinate in it; invalid
    (all-zero) frames are dropped first, then the rest is resampled along
    time with cv2's half-pixel ``INTER_LINEAR`` mapping, as AimCLR's
    preprocessing does with ``cv2.resize`` (implemented in numpy; AimCLR
    counts valid frames of the first body only and assumes they come first).
    A clip without a valid frame becomes ``clip_len`` zero frames.

    Required Keys: ``keypoint`` (M, T, V, C)
    Modified Keys: ``keypoint``, ``keypoint_score`` (if present),
    ``total_frames``

    Args:
        clip_len (int): Output length. Defaults to 50.
    """

    def __init__(self, clip_len: int = 50) -> None:
        if clip_len <= 0:
            raise ValueError(f'clip_len must be positive, got {clip_len}')
        self.clip_len = clip_len

    def _resample(self, arr: np.ndarray, valid: np.ndarray) -> np.ndarray:
        arr = arr[:, valid]
        length = arr.shape[1]
        if length == 0:
            shape = list(arr.shape)
            shape[1] = self.clip_len
            return np.zeros(shape, dtype=np.float32)
        i0, i1, w = linear_sample_positions(length, self.clip_len)
        w = w.reshape((1, -1) + (1, ) * (arr.ndim - 2))
        lo, hi = arr[:, i0], arr[:, i1]
        return (lo + (hi - lo) * w).astype(np.float32, copy=False)

    def transform(self, results: Dict) -> Dict:
        kp = results['keypoint']
        valid = kp.any(axis=(0, 2, 3))
        results['keypoint'] = self._resample(kp, valid)
        if 'keypoint_score' in results:
            results['keypoint_score'] = self._resample(results['keypoint_score'], valid)
        results['total_frames'] = self.clip_len
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_len={self.clip_len})'
