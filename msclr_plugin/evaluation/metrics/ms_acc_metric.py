"""Top-k, mean class and per-convention accuracy, with optional reports."""
import json
import logging
import os
import os.path as osp
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmaction.registry import METRICS
from ..accuracy import (accuracy_report, confusion_matrix, per_class_accuracy,
                        topk_accuracy)


def _current_log_dir() -> str:
    """Directory of the current runner's log file (``work_dir/<timestamp>``)."""
    for handler in MMLogger.get_current_instance().handlers:
        if isinstance(handler, logging.FileHandler):
            return osp.dirname(handler.baseFilename)
    raise RuntimeError("MSAccMetric(out_dir='auto') needs a runner's log "
                       'file to find the work_dir; give out_dir a path')


def save_confusion_matrix(matrix: np.ndarray,
                          path: str,
                          classes: Optional[Sequence[str]] = None,
                          title: str = 'Confusion matrix') -> None:
    """Draw a row-normalised confusion matrix into a PNG (matplotlib Agg).

    Args:
        matrix (np.ndarray): ``(K, K)`` counts, rows = true classes.
        path (str): Output ``.png`` path.
        classes (Sequence[str], optional): Class names (else indices).
        title (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    num = matrix.shape[0]
    support = matrix.sum(1, keepdims=True)
    norm = np.divide(
        matrix, support, out=np.zeros(matrix.shape), where=support > 0)
    size = min(4 + 0.25 * num, 30)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    names = list(classes) if classes is not None else [str(i) for i in range(num)]
    if num <= 120:
        ax.set_xticks(range(num), names, rotation=90, fontsize=6)
        ax.set_yticks(range(num), names, fontsize=6)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@METRICS.register_module()
class MSAccMetric(BaseMetric):
    """Accuracy metric for (multi-)skeleton action recognition.

    Computes top-k accuracies, the mean class accuracy and, for items that
    carry a single convention (metainfo ``skeletons`` with one view), the
    top-1 accuracy of every convention (``top1_<convention>``). Items with
    several views (skeleton-specific ensembles) count under ``ensemble``.
    Values are fractions in [0, 1] under the prefix ``acc`` (``acc/top1``...),
    like mmaction2's ``AccMetric``, which keeps working alongside.

    With ``out_dir`` set, every evaluation also writes
    ``<out_dir>/<prefix>_per_class_accuracy.json`` and
    ``<out_dir>/<prefix>_confusion_matrix.png``.

    Args:
        topk (Sequence[int]): Top-k accuracies. Defaults to ``(1, 5)``.
        per_convention (bool): Report per-convention top-1. Defaults to True.
        out_dir (str, optional): Where to write the reports; ``'auto'`` is the
            current runner's log directory (``work_dir/<timestamp>``). None
            (default) writes nothing.
        classes (Sequence[str], optional): Class names for the reports.
        collect_device (str): As in :class:`BaseMetric`.
        prefix (str, optional): Defaults to ``'acc'``.
    """
    default_prefix: Optional[str] = 'acc'

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 per_convention: bool = True,
                 out_dir: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)
        self.per_convention = per_convention
        self.out_dir = out_dir
        self.classes = list(classes) if classes is not None else None
        self._evaluations = 0

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep ``(scores, label, convention)`` of every item.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Predictions as dicts (from
                ``ActionDataSample.to_dict()``) with ``pred_score`` and
                ``gt_label``.
        """
        for sample in data_samples:
            score = sample['pred_score']
            label = sample['gt_label']
            if isinstance(score, torch.Tensor):
                score = score.detach().float().cpu().numpy()
            if isinstance(label, torch.Tensor):
                if label.numel() != 1:
                    raise ValueError(
                        f'clip {sample.get("clip_name", "?")}: MSAccMetric is '
                        'single-label, got a label of shape '
                        f'{tuple(label.shape)}')
                label = label.item()
            skeletons = sample.get('skeletons') or {}
            convs = sorted(set(skeletons.values()))
            convention = convs[0] if len(convs) == 1 else (
                'ensemble' if convs else None)
            self.results.append((np.asarray(score).reshape(-1), int(label),
                                 convention))

    def compute_metrics(self, results: List[Tuple]) -> Dict[str, float]:
        """Accuracies over all results (see the class docstring)."""
        scores = np.stack([r[0] for r in results])
        labels = np.array([r[1] for r in results], dtype=np.int64)
        metrics = accuracy_report(scores, labels, self.topk)
        if self.per_convention:
            groups = defaultdict(list)
            for i, (_, _, conv) in enumerate(results):
                if conv is not None:
                    groups[conv].append(i)
            if len(groups) > 1 or (groups and 'ensemble' not in groups):
                for conv, rows in sorted(groups.items()):
                    metrics[f'top1_{conv}'] = topk_accuracy(
                        scores[rows], labels[rows], 1)
        if self.out_dir is not None:
            self._write_reports(scores, labels)
        return metrics

    def _write_reports(self, scores: np.ndarray, labels: np.ndarray) -> None:
        out_dir = _current_log_dir() if self.out_dir == 'auto' else self.out_dir
        os.makedirs(out_dir, exist_ok=True)
        num_classes = scores.shape[1]
        names = self.classes or [str(i) for i in range(num_classes)]
        if len(names) != num_classes:
            raise ValueError(f'{len(names)} class names for {num_classes} '
                             'classes')
        self._evaluations += 1
        stem = osp.join(out_dir, self.prefix or 'acc')
        accs = per_class_accuracy(scores, labels, num_classes)
        support = np.bincount(labels, minlength=num_classes)
        with open(stem + '_per_class_accuracy.json', 'w') as f:
            json.dump([
                dict(
                    index=i,
                    name=names[i],
                    accuracy=None if np.isnan(a) else float(a),
                    support=int(s))
                for i, (a, s) in enumerate(zip(accs, support))
            ], f, indent=1)
        save_confusion_matrix(
            confusion_matrix(scores.argmax(1), labels, num_classes),
            stem + '_confusion_matrix.png',
            names,
            title=f'Confusion matrix (evaluation {self._evaluations})')
