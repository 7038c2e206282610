"""Classification accuracies on score arrays (numpy, no framework state).

Shared by :class:`MSAccMetric`, the score-fusion library and the tools, so
that every number the project prints is computed the same way.
"""
from typing import Dict, Optional, Sequence

import numpy as np


def _check(scores: np.ndarray, labels: np.ndarray) -> None:
    if scores.ndim != 2:
        raise ValueError(f'scores must be (N, num_classes), got {scores.shape}')
    if labels.shape != (scores.shape[0], ):
        raise ValueError(f'{labels.shape} labels for {scores.shape[0]} score '
                         'rows')


def topk_accuracy(scores: np.ndarray, labels: np.ndarray,
                  k: int = 1) -> float:
    """Fraction of rows whose label is among the ``k`` highest scores.

    Args:
        scores (np.ndarray): ``(N, num_classes)`` scores.
        labels (np.ndarray): ``(N,)`` integer labels.
        k (int): Number of top scores. Defaults to 1.

    Returns:
        float: Accuracy in [0, 1] (``nan`` for an empty input).
    """
    scores, labels = np.asarray(scores), np.asarray(labels).astype(np.int64)
    _check(scores, labels)
    if labels.size == 0:
        return float('nan')
    k = min(k, scores.shape[1])
    topk = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((topk == labels[:, None]).any(axis=1).mean())


def confusion_matrix(preds: np.ndarray, labels: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts, rows = true, cols = predicted."""
    preds = np.asarray(preds, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, preds), 1)
    return matrix


def per_class_accuracy(scores: np.ndarray, labels: np.ndarray,
                       num_classes: Optional[int] = None) -> np.ndarray:
    """Top-1 recall of every class; ``nan`` for classes without samples."""
    scores, labels = np.asarray(scores), np.asarray(labels).astype(np.int64)
    _check(scores, labels)
    num_classes = num_classes or scores.shape[1]
    matrix = confusion_matrix(scores.argmax(1), labels, num_classes)
    support = matrix.sum(1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(support > 0, np.diag(matrix) / support, np.nan)


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the per-class top-1 accuracies over classes that occur."""
    return float(np.nanmean(per_class_accuracy(scores, labels)))


def accuracy_report(scores: np.ndarray, labels: np.ndarray,
                    topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """``{'top1': .., 'top5': .., 'mean_class_accuracy': ..}`` in [0, 1]."""
    report = {f'top{k}': topk_accuracy(scores, labels, k) for k in topk}
    report['mean_class_accuracy'] = mean_class_accuracy(scores, labels)
    return report
