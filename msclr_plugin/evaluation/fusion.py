"""Late fusion of score dumps (multi-stream: joint / bone / motion).

A dump is the pickle that ``tools/test.py --dump`` writes through mmengine's
``DumpResults``: a list with one dict per test item, holding ``pred_score``
(probabilities with the default ``average_clips='prob'``, tensor
``(num_classes,)``), ``pred_raw_score`` (the scores before ``average_clips``,
written by :class:`~msclr_plugin.models.heads.MSLinearHead`), ``gt_label``
(tensor ``(1,)``) and the item's metainfo (e.g. ``clip_name``). AimCLR and
MS-CLR fuse streams on raw scores (their ``ensemble_ntu_cs.py`` adds the
pickled classifier outputs), which is the default here.
"""
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .accuracy import accuracy_report

# AimCLR / MS-CLR three-stream weights (ensemble_ntu_cs.py): joint, bone,
# motion.
DEFAULT_WEIGHTS = (0.6, 0.6, 0.4)
# what each kind of score is called in a dump
SCORE_KEYS = {'raw': 'pred_raw_score', 'prob': 'pred_score'}
# How a skeleton-specific ensemble combines its per-convention classifiers
# (MSLinearHead's view_fusion): 'logits', the mean of the logits (the
# authors' code, processor/linear_evaluation.py, which produced the
# published numbers); 'softmax', the mean of the softmax scores (the
# paper's text).
ENSEMBLE_RULES = ('logits', 'softmax')


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value)


def scores_from_results(results: Sequence[dict],
                        source: str = '<results>',
                        scores: str = 'raw'
                        ) -> Tuple[np.ndarray, np.ndarray, Optional[list]]:
    """``(scores (N, K), labels (N,), clip names or None)`` of a dump list.

    Args:
        results (Sequence[dict]): The dump's items.
        source (str): Named in error messages.
        scores (str): ``'raw'`` (``pred_raw_score``) or ``'prob'``
            (``pred_score``).
    """
    if scores not in SCORE_KEYS:
        raise ValueError(f"scores must be 'raw' or 'prob', got {scores!r}")
    key = SCORE_KEYS[scores]
    if not isinstance(results, (list, tuple)) or not results:
        raise ValueError(f'{source}: expected a non-empty list of per-item '
                         f'dicts, got {type(results).__name__}')
    out, labels, names = [], [], []
    for i, item in enumerate(results):
        if not isinstance(item, dict) or 'gt_label' not in item:
            raise KeyError(f'{source}: item {i} lacks gt_label (was it '
                           'written by tools/test.py --dump?)')
        if key not in item:
            hint = ("the head keeps no raw scores (a dump of another head, "
                    "or an older one): fuse probabilities with scores='prob' "
                    '(tools/ensemble.py --scores prob)') if scores == 'raw' \
                else 'was it written by tools/test.py --dump?'
            raise KeyError(f'{source}: item {i} has no {key}; {hint}')
        label = _numpy(item['gt_label']).reshape(-1)
        if label.size != 1:
            raise ValueError(f'{source}: item {i} has {label.size} labels; '
                             'fusion is single-label')
        out.append(_numpy(item[key]).reshape(-1))
        labels.append(int(label[0]))
        names.append(item.get('clip_name'))
    if len({s.shape for s in out}) != 1:
        raise ValueError(f'{source}: items have different numbers of classes')
    return (np.stack(out), np.array(labels, dtype=np.int64),
            names if all(n is not None for n in names) else None)


def load_dump(path: str, scores: str = 'raw'
              ) -> Tuple[np.ndarray, np.ndarray, Optional[list]]:
    """Read one dump (only open dumps you wrote: pickle runs code); see
    :func:`scores_from_results` for ``scores``."""
    with open(path, 'rb') as f:
        return scores_from_results(pickle.load(f), path, scores)


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


def fuse_scores(scores: Sequence[np.ndarray],
                weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """Weighted sum of per-stream scores.

    Args:
        scores (Sequence[np.ndarray]): One ``(N, K)`` array per stream.
        weights (Sequence[float], optional): One weight per stream; defaults
            to 0.6/0.6/0.4 for three streams and to 1 each otherwise.

    Returns:
        np.ndarray: ``(N, K)`` fused scores.
    """
    if weights is None:
        weights = DEFAULT_WEIGHTS if len(scores) == 3 else [1.] * len(scores)
    if len(weights) != len(scores):
        raise ValueError(f'{len(weights)} weights for {len(scores)} streams')
    fused = np.zeros_like(scores[0], dtype=np.float64)
    for weight, stream in zip(weights, scores):
        fused += weight * stream
    return fused


def ensemble_views(logits: Sequence[np.ndarray], rule: str) -> np.ndarray:
    """The skeleton-specific ensemble of per-convention classifier scores.

    Args:
        logits (Sequence[np.ndarray]): One ``(N, K)`` array of logits per
            convention (the same items).
        rule (str): ``'logits'``: their mean; ``'softmax'``: the log of the
            mean of their softmax (whose softmax is that mean, as
            ``MSLinearHead(view_fusion='softmax')`` returns).

    Returns:
        np.ndarray: ``(N, K)`` raw scores of the ensemble.
    """
    if rule not in ENSEMBLE_RULES:
        raise ValueError(f'ensemble rule must be one of {ENSEMBLE_RULES}, '
                         f'got {rule!r}')
    stack = np.stack([np.asarray(s, dtype=np.float64) for s in logits])
    if rule == 'logits':
        return stack.mean(0)
    shifted = np.exp(stack - stack.max(-1, keepdims=True))
    probs = (shifted / shifted.sum(-1, keepdims=True)).mean(0)
    return np.log(np.maximum(probs, np.finfo(np.float64).tiny))


def _load_group(group: Sequence[str], scores: str, rule: str):
    """One stream's dump, or the ensemble of several per-convention dumps
    of the same items (their ``pred_raw_score`` logits) by ``rule``."""
    dumps = [load_dump(p, scores) for p in group]
    check_aligned(dumps, list(group))
    if len(dumps) == 1:
        return dumps[0]
    if scores != 'raw':
        raise ValueError(f'{"+".join(group)}: an ensemble of views combines '
                         "the classifiers' raw scores (scores='raw')")
    return (ensemble_views([d[0] for d in dumps], rule), ) + dumps[0][1:]


def fuse_dumps(paths: Sequence[Union[str, Sequence[str]]],
               weights: Optional[Sequence[float]] = None,
               scores: str = 'raw',
               topk: Sequence[int] = (1, 5),
               ensemble_rule: str = 'logits') -> Dict[str, object]:
    """Load, align-check and fuse dumps (``scores``: ``'raw'`` or
    ``'prob'``, see :func:`scores_from_results`); report accuracies.

    An entry of ``paths`` may be a group of per-convention dumps of one
    stream (a list, or paths joined by ``+`` where no file has that name):
    they are first combined into the skeleton-specific ensemble by
    ``ensemble_rule`` (see :func:`ensemble_views`).

    Returns:
        dict: ``fused`` scores, ``labels``, ``streams`` (per-entry accuracy
        reports) and ``report`` (accuracies of the fusion).
    """
    # 'a.pkl+b.pkl' is a group unless a file of that very name exists
    groups = [[p] if isinstance(p, str) and osp.isfile(p) else
              p.split('+') if isinstance(p, str) else list(p) for p in paths]
    dumps = [_load_group(g, scores, ensemble_rule) for g in groups]
    check_aligned(dumps, ['+'.join(g) for g in groups])
    labels = dumps[0][1]
    fused = fuse_scores([d[0] for d in dumps], weights)
    return dict(
        fused=fused,
        labels=labels,
        streams=[accuracy_report(d[0], labels, topk) for d in dumps],
        report=accuracy_report(fused, labels, topk))


__all__: List[str] = [
    'DEFAULT_WEIGHTS', 'SCORE_KEYS', 'ENSEMBLE_RULES', 'scores_from_results',
    'load_dump', 'check_aligned', 'fuse_scores', 'ensemble_views', 'fuse_dumps'
]
