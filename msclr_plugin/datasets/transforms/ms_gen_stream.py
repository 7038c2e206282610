"""Joint, bone or motion stream of one skeleton."""
from typing import Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from msclr_plugin.skeletons import get_layout


@TRANSFORMS.register_module()
class MSGenStream(BaseTransform):
    """Turn joint coordinates into another input stream, per convention.

    - ``'joint'``: unchanged.
    - ``'bone'``: ``x[v] - x[parent(v)]`` with the layout's ``bone_pairs``;
      roots pair with themselves, so the centre joint's bone is zero (as
      AimCLR's ``(21, 21)`` pair).
    - ``'motion'``: ``x[t + 1] - x[t]``, the last frame zero (AimCLR).

    Put it after the augmentations, as AimCLR computes streams from the
    augmented views.

    Required Keys: ``keypoint`` (M, T, V, C), ``skeleton`` (layout name)
    Modified Keys: ``keypoint``

    Args:
        stream (str): ``'joint'``, ``'bone'`` or ``'motion'``.
    """

    STREAMS = ('joint', 'bone', 'motion')

    def __init__(self, stream: str = 'joint') -> None:
        if stream not in self.STREAMS:
            raise ValueError(f'stream must be one of {self.STREAMS}, got '
                             f'{stream!r}')
        self.stream = stream

    def transform(self, results: Dict) -> Dict:
        kp = results['keypoint']
        if self.stream == 'bone':
            parents = get_layout(results['skeleton']).parents
            results['keypoint'] = kp - kp.take(parents, axis=2)
        elif self.stream == 'motion':
            motion = np.zeros_like(kp)
            np.subtract(kp[:, 1:], kp[:, :-1], out=motion[:, :-1])
            results['keypoint'] = motion
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(stream={self.stream!r})'
