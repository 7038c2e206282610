"""Select or pad persons to a fixed number."""
from typing import Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class MSPersonPadding(BaseTransform):
    """Keep the ``num_person`` most active persons (in their original order)
    or zero-pad to ``num_person``.

    Activity is the summed absolute frame-to-frame displacement of a
    person's joints over frames where the person is present; absent (all-
    zero) persons rank last.

    Required Keys: ``keypoint`` (M, T, V, C)
    Modified Keys: ``keypoint``, ``keypoint_score`` (if present)

    Args:
        num_person (int): Defaults to 2.
    """

    def __init__(self, num_person: int = 2) -> None:
        if num_person <= 0:
            raise ValueError(f'num_person must be positive, got {num_person}')
        self.num_person = num_person

    def transform(self, results: Dict) -> Dict:
        kp = results['keypoint']
        num = kp.shape[0]
        if num > self.num_person:
            present = kp.any(axis=(2, 3))  # (M, T)
            both = present[:, 1:] & present[:, :-1]
            step = np.abs(np.diff(kp, axis=1)).sum(axis=(2, 3))
            activity = np.where(both, step, 0).sum(axis=1)
            activity[~present.any(axis=1)] = -1
            keep = np.sort(np.argsort(-activity, kind='stable')[:self.num_person])
            results['keypoint'] = kp[keep]
            if 'keypoint_score' in results:
                results['keypoint_score'] = results['keypoint_score'][keep]
        elif num < self.num_person:
            for key in ('keypoint', 'keypoint_score'):
                if key in results:
                    arr = results[key]
                    pad = np.zeros(
                        (self.num_person - num, ) + arr.shape[1:], dtype=arr.dtype)
                    results[key] = np.concatenate([arr, pad])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_person={self.num_person})'
