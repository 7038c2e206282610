"""Pack the views of an item into model inputs and a data sample."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class PackMultiSkeletonInputs(BaseTransform):
    """``inputs_views`` -> ``inputs`` ``{view: Tensor (M, T, V, C)}`` and an
    ``ActionDataSample`` with ``gt_label`` and metainfo ``clip_name``,
    ``skeletons`` ``{view: layout name}``, ``conventions`` ``{view: conv}``
    and ``meta_keys``.

    Required Keys: ``inputs_views``, ``view_skeletons``, ``label``,
    ``clip_name``; optional ``view_conventions``
    Added Keys: ``inputs``, ``data_samples`` (the result holds only these)

    Args:
        meta_keys (Sequence[str]): Other keys copied to the metainfo when
            present. Defaults to ``('sample_idx', 'epoch')``.
    """

    def __init__(self, meta_keys: Sequence[str] = ('sample_idx', 'epoch')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        inputs = {
            view: torch.from_numpy(np.ascontiguousarray(kp))
            for view, kp in results['inputs_views'].items()
        }
        sample = ActionDataSample()
        sample.set_gt_label(results['label'])
        meta = dict(
            clip_name=results['clip_name'],
            skeletons=dict(results['view_skeletons']),
            conventions=dict(
                results.get('view_conventions', results['view_skeletons'])))
        meta.update({k: results[k] for k in self.meta_keys if k in results})
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
