"""Late fusion of score dumps (multi-stream: joint / bone / motion).

A dump is the pickle that ``tools/test.py --dump`` writes through mmengine's
``DumpResults``: a list with one dict per test item, holding ``pred_score``
(tensor ``(num_classes,)``) and ``gt_label`` (tensor ``(1,)``), and the
item's metainfo (e.g. ``clip_name``).
"""
import pickle
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .accuracy import accuracy_report

# AimCLR / MS-CLR three-stream weights (ensemble_ntu_cs.py): joint, bone,
# motion.
DEFAULT_WEIGHTS = (0.6, 0.6, 0.4)


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value)


def scores_from_results(results: Sequence[dict], source: str = '<results>'
                        ) -> Tuple[np.ndarray, np.ndarray, Optional[list]]:
    """``(scores (N, K), labels (N,), clip names or None)`` of a dump list."""
    if not isinstance(results, (list, tuple)) or not results:
        raise ValueError(f'{source}: expected a non-empty list of per-item '
                         f'dicts, got {type(results).__name__}')
    scores, labels, names = [], [], []
    for i, item in enumerate(results):
        if not isinstance(item, dict) or 'pred_score' not in item \
                or 'gt_label' not in item:
            raise KeyError(f'{source}: item {i} lacks pred_score/gt_label '
                           '(was it written by tools/test.py --dump?)')
        label = _numpy(item['gt_label']).reshape(-1)
        if label.size != 1:
            raise ValueError(f'{source}: item {i} has {label.size} labels; '
                             'fusion is single-label')
        scores.append(_numpy(item['pred_score']).reshape(-1))
        labels.append(int(label[0]))
        names.append(item.get('clip_name'))
    if len({s.shape for s in scores}) != 1:
        raise ValueError(f'{source}: items have different numbers of classes')
    return (np.stack(scores), np.array(labels, dtype=np.int64),
            names if all(n is not None for n in names) else None)


def load_dump(path: str) -> Tuple[np.ndarray, np.ndarray, Optional[list]]:
    """Read one dump (only open dumps you wrote: pickle runs code)."""
    with open(path, 'rb') as f:
        return scores_from_results(pickle.load(f), path)


def check_aligned(dumps: Sequence[Tuple[np.ndarray, np.ndarray,
                                        Optional[list]]],
                  names: Sequence[str]) -> None:
    """Raise if the dumps do not hold the same items in the same order."""
    ref_scores, ref_labels, ref_clips = dumps[0]
    for (scores, labels, clips), name in zip(dumps[1:], names[1:]):
        if scores.shape != ref_scores.shape:
            raise ValueError(
                f'{name} has scores {scores.shape} but {names[0]} has '
                f'{ref_scores.shape}: not the same test set/classes')
        if ref_clips is not None and clips is not None and clips != ref_clips:
            first = next(i for i, (a, b) in enumerate(zip(ref_clips, clips))
                         if a != b)
            raise ValueError(f'{name} and {names[0]} differ at item {first}: '
                             f'clip {clips[first]!r} vs {ref_clips[first]!r}')
        if not np.array_equal(labels, ref_labels):
            first = int(np.flatnonzero(labels != ref_labels)[0])
            raise ValueError(
                f'{name} and {names[0]} disagree on the label of item '
                f'{first} ({labels[first]} vs {ref_labels[first]}): the '
                'dumps are not aligned')


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = scores - scores.max(1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(1, keepdims=True)


def fuse_scores(scores: Sequence[np.ndarray],
                weights: Optional[Sequence[float]] = None,
                use_softmax: bool = False) -> np.ndarray:
    """Weighted sum of per-stream scores.

    Args:
        scores (Sequence[np.ndarray]): One ``(N, K)`` array per stream.
        weights (Sequence[float], optional): One weight per stream; defaults
            to 0.6/0.6/0.4 for three streams and to 1 each otherwise.
        use_softmax (bool): Fuse probabilities (softmax of each stream)
            instead of the raw scores (AimCLR/MS-CLR fuse raw logits).

    Returns:
        np.ndarray: ``(N, K)`` fused scores.
    """
    if weights is None:
        weights = DEFAULT_WEIGHTS if len(scores) == 3 else [1.] * len(scores)
    if len(weights) != len(scores):
        raise ValueError(f'{len(weights)} weights for {len(scores)} streams')
    fused = np.zeros_like(scores[0], dtype=np.float64)
    for weight, stream in zip(weights, scores):
        fused += weight * (softmax(stream) if use_softmax else stream)
    return fused


def fuse_dumps(paths: Sequence[str],
               weights: Optional[Sequence[float]] = None,
               use_softmax: bool = False,
               topk: Sequence[int] = (1, 5)) -> Dict[str, object]:
    """Load, align-check and fuse dumps; report accuracies.

    Returns:
        dict: ``fused`` scores, ``labels``, ``streams`` (per-file accuracy
        reports) and ``report`` (accuracies of the fusion).
    """
    dumps = [load_dump(p) for p in paths]
    check_aligned(dumps, list(paths))
    labels = dumps[0][1]
    fused = fuse_scores([d[0] for d in dumps], weights, use_softmax)
    return dict(
        fused=fused,
        labels=labels,
        streams=[accuracy_report(d[0], labels, topk) for d in dumps],
        report=accuracy_report(fused, labels, topk))


__all__: List[str] = [
    'DEFAULT_WEIGHTS', 'scores_from_results', 'load_dump', 'check_aligned',
    'softmax', 'fuse_scores', 'fuse_dumps'
]
