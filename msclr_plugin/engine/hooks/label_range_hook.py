"""Check the datasets' labels against the classifier before the first step."""
from typing import List, Tuple

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS


def dataset_labels(dataset) -> Tuple[np.ndarray, List[str]]:
    """Labels and clip names of every clip of a dataset.

    Reads ``labels`` / ``clip_names`` where the dataset has them
    (:class:`MultiSkeletonDataset`, without touching the skeletons), else
    ``get_data_info(i)['label']`` (mmaction2's datasets); mmengine's dataset
    wrappers (``dataset`` / ``datasets``) are looked through.
    """
    if hasattr(dataset, 'datasets'):
        parts = [dataset_labels(d) for d in dataset.datasets]
        return (np.concatenate([p[0] for p in parts]),
                [n for p in parts for n in p[1]])
    if hasattr(dataset, 'labels') and hasattr(dataset, 'clip_names'):
        return np.asarray(dataset.labels).reshape(-1), dataset.clip_names
    if hasattr(dataset, 'dataset'):
        return dataset_labels(dataset.dataset)
    labels, names = [], []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        labels.append(int(np.asarray(info['label']).reshape(-1)[0]))
        names.append(str(info.get('clip_name', info.get('frame_dir', idx))))
    return np.asarray(labels, dtype=np.int64), names


def _describe(dataset) -> str:
    while not hasattr(dataset, 'ann_file') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    where = [f'{k}={getattr(dataset, k)!r}' for k in ('ann_file', 'split')
             if getattr(dataset, k, None)]
    return f'{type(dataset).__name__}({", ".join(where)})'


@HOOKS.register_module()
class LabelRangeHook(Hook):
    """Fail before the first step when a label is not a class of the head.

    A label outside ``[0, cls_head.num_classes)`` crashes training at its
    first batch with ``IndexError: Target 99 is out of bounds`` (naming
    nothing), or silently counts as a wrong prediction at test. This hook
    checks every clip of the train, val and test datasets once, before their
    loop starts, and names the dataset, the clips and their labels. Models
    without a ``cls_head`` (pretraining) are not checked.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._checked = set()

    def before_train(self, runner) -> None:
        self._check(runner, 'train_dataloader', runner.train_dataloader)

    def before_val(self, runner) -> None:
        self._check(runner, 'val_dataloader', runner.val_dataloader)

    def before_test(self, runner) -> None:
        self._check(runner, 'test_dataloader', runner.test_dataloader)

    def _check(self, runner, name: str, loader) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        num = getattr(getattr(model, 'cls_head', None), 'num_classes', None)
        dataset = getattr(loader, 'dataset', None)
        if num is None or dataset is None or id(dataset) in self._checked:
            return
        self._checked.add(id(dataset))
        labels, names = dataset_labels(dataset)
        bad = np.flatnonzero((labels < 0) | (labels >= num))
        if len(bad):
            shown = ', '.join(f'{names[i]} (label {labels[i]})'
                              for i in bad[:5])
            raise ValueError(
                f'{name}: {_describe(dataset)} has {len(bad)} of '
                f'{len(labels)} clips with labels outside [0, {num}), the '
                f'classes of the model\'s head ({type(model.cls_head).__name__}'
                f'.num_classes={num}): {shown}'
                f'{", ..." if len(bad) > 5 else ""}. The config\'s '
                'num_classes or the dataset\'s labels are wrong.')
