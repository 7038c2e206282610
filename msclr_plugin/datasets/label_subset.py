"""Labelled subsets for semi-supervised evaluation."""
from typing import Sequence

import numpy as np


def select_labelled_subset(labels: Sequence[int], fraction: float,
                           seed: int = 0) -> np.ndarray:
    """Class-balanced, seeded subset of sample indices.

    As AimCLR's ``Feeder_semi``, every class keeps ``round(fraction * n_c)``
    of its ``n_c`` samples, drawn without replacement; unlike it, at least one
    per class (so 1% of a small class is not empty) and the draw depends only
    on ``seed`` (a ``numpy`` Generator, not the global ``random`` state).

    Args:
        labels (Sequence[int]): Label of every sample.
        fraction (float): Fraction in (0, 1] of each class to keep.
        seed (int): Random seed. Defaults to 0.

    Returns:
        np.ndarray: Sorted int64 indices into ``labels``.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f'labels must be 1-D, got shape {labels.shape}')
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        count = max(1, int(round(fraction * members.size)))
        chosen.append(rng.choice(members, size=count, replace=False))
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(chosen)).astype(np.int64)
