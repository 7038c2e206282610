"""Rewrite a version-1 store (no clip identity) as version 2.

Version 1 recorded no clip identity, so shifted offsets, swapped or
duplicated clips in one convention go unnoticed there; training refuses such
stores (:func:`~msclr_plugin.datasets.store.refuse_for_training`). The
rewrite records the identity of the clips as they are now, after checking
what the data can show: every convention of a clip has the same number of
frames (shifted offsets and swapped clips of different lengths break that)
and the store check passes (every clip valid, the conventions in one body
frame). What the data cannot show (names or labels permuted together, clips
of equal length swapped in every convention) only the source can: when in
doubt, convert from the source again.
"""
import os.path as osp
from typing import Dict

import numpy as np

from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.datasets.store_check import check_store

from .common import StoreBuilder


def upgrade_store(store: str, out: str, progress=None) -> Dict:
    """Check the version-1 ``store`` and write it to ``out`` as version 2.

    Args:
        store (str): The version-1 store.
        out (str): The new store's directory.
        progress (callable, optional): Wraps the clip iterators.

    Returns:
        dict: ``kept``, ``skipped``, ``index``, ``check`` (of the new
        store).

    Raises:
        ValueError: the store is version 2 already, ``out`` is ``store``,
        the frame counts of a clip differ between conventions, or the store
        check fails (the message holds its report); nothing is written.
    """
    if osp.abspath(store) == osp.abspath(out):
        raise ValueError(f'{out}: the new store must not overwrite {store}')
    src = SkeletonStore(store, verify=0)
    if src.reader.has_identity:
        raise ValueError(f'{store}: store version {src.index["version"]} '
                         'records clip identity already')
    frames = np.stack([src.num_frames(c) for c in src.conventions])
    differ = np.flatnonzero((frames != frames[0]).any(0))
    if len(differ):
        i = int(differ[0])
        counts = ', '.join(f'{c} {int(f[i])}' for c, f in
                           zip(src.conventions, frames))
        raise ValueError(
            f'{store}: clip {src.clip_names[i]} has different frame counts '
            f'per convention ({counts}; {len(differ)} clips differ): offsets '
            'shifted or clips swapped in a convention; convert from the '
            'source again')
    report = check_store(src, progress=progress)
    if not report.ok:
        raise ValueError(f'{store}: not upgraded, the store check fails:\n'
                         f'{report.format()}')
    specs = {
        c: dict(layout=src.layout(c), scale=s.get('scale', 1.0),
                source=s.get('source'), normalize=s.get('normalize'),
                coords=s.get('coords'), derived_from=s.get('derived_from'),
                made_by=s.get('made_by'))
        for c, s in src.conventions.items()
    }
    builder = StoreBuilder(out, specs, classes=src.classes,
                           num_classes=src.num_classes)
    clips = range(len(src))
    for i in (progress(clips) if progress else clips):
        builder.add(src.clip_names[i], int(src.labels[i]),
                    {c: src.get(i, c, scaled=False) for c in src.conventions},
                    store, prepared=src.conventions)
    meta = dict(src.index.get('meta') or {}, upgraded_from=dict(
        store=store, version=src.index['version']))
    return builder.finish(src.splits, meta=meta,
                          skipped_before=src.skipped, progress=progress)
