"""AimCLR's temporal crop: a random shift inside symmetric padding."""
from typing import Dict, Optional

import numpy as np
from mmaction.registry import TRANSFORMS

from ._random import RandomTransform


@TRANSFORMS.register_module()
class MSTemporalCrop(RandomTransform):
    """Pad ``T // ratio`` frames on both ends by mirroring (numpy
    ``'symmetric'``: the edge frame repeats), then keep ``T`` frames from a
    start drawn uniformly in ``[0, 2 * pad]`` (AimCLR ``temperal_crop``: a
    shift of up to ``pad`` frames, no resize).

    Required Keys: ``keypoint`` (M, T, V, C)
    Optional Keys: ``rng`` (per-sample generator, see :class:`RandomTransform`)
    Modified Keys: ``keypoint``, ``keypoint_score`` (if present)

    Args:
        ratio (int): Padding is ``T // ratio`` frames. Defaults to 6.
        seed (int, optional): See :class:`RandomTransform`.
    """

    def __init__(self, ratio: int = 6, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        if ratio <= 0:
            raise ValueError(f'ratio must be positive, got {ratio}')
        self.ratio = ratio
        self._tables = {}

    def _table(self, num_frames: int) -> np.ndarray:
        # frame index of every position of the padded clip, cached per T
        table = self._tables.get(num_frames)
        if table is None:
            pad = num_frames // self.ratio
            idx = np.arange(-pad, num_frames + pad)
            idx = np.where(idx < 0, -idx - 1, idx)
            table = np.where(idx >= num_frames, 2 * num_frames - idx - 1, idx)
            self._tables[num_frames] = table
        return table

    def transform(self, results: Dict) -> Dict:
        kp = results['keypoint']
        num_frames = kp.shape[1]
        pad = num_frames // self.ratio
        if pad == 0:
            return results
        # rng.random is several times cheaper than rng.integers
        start = min(int(self.rng_for(results).random() * (2 * pad + 1)), 2 * pad)
        idx = self._table(num_frames)[start:start + num_frames]
        results['keypoint'] = kp.take(idx, axis=1)
        if 'keypoint_score' in results:
            results['keypoint_score'] = results['keypoint_score'].take(idx, axis=1)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ratio={self.ratio})'
