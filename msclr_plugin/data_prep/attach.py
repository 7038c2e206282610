"""Attach a convention computed elsewhere (e.g. MeTRAbs SMPL-X, MediaPipe)
to an existing store, writing a new store.

Per-clip files are found by a name pattern (``{clip}`` is replaced by the
clip name) and may be ``.npy``, ``.npz`` (array chosen by ``key``) or ``.pt``
(read with ``torch.load(weights_only=True)``: a tensor, or a dict of tensors
chosen by ``key``). An array is ``(T, V, C)`` (one body) or ``(M, T, V, C)``.
"""
import os.path as osp
import warnings
from typing import Dict, Optional

import numpy as np

from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike

from .common import (ConversionError, SkipReport, check_keypoint, resample_frames)


def load_array(path: str, key: Optional[str] = None) -> np.ndarray:
    """Load one per-clip array from ``.npy``, ``.npz`` or ``.pt``.

    Raises:
        ConversionError: unreadable file, or ``key`` missing/ambiguous.
    """
    ext = osp.splitext(path)[1].lower()
    try:
        if ext == '.npy':
            return np.load(path, allow_pickle=False)
        if ext == '.npz':
            with np.load(path, allow_pickle=False) as data:
                if key is None and len(data.files) != 1:
                    raise ConversionError(f'{path}: holds {data.files}; give '
                                          'the array name (key)')
                name = key or data.files[0]
                if name not in data.files:
                    raise ConversionError(f'{path}: no array {name!r}; holds '
                                          f'{data.files}')
                return data[name]
        if ext == '.pt':
            import torch
            obj = torch.load(path, map_location='cpu', weights_only=True)
            if isinstance(obj, dict):
                if key not in obj:
                    raise ConversionError(f'{path}: no entry {key!r}; holds '
                                          f'{sorted(obj)}')
                obj = obj[key]
            return obj.numpy() if hasattr(obj, 'numpy') else np.asarray(obj)
    except ConversionError:
        raise
    except Exception as err:  # corrupt files raise many types
        raise ConversionError(f'{path}: cannot read ({type(err).__name__}: '
                              f'{err})') from None
    raise ConversionError(f'{path}: unsupported extension {ext!r} '
                          '(.npy, .npz, .pt)')


def _read_convention(root: str, index: dict, name: str):
    spec = index['conventions'][name]
    data = np.load(osp.join(root, spec['data']), mmap_mode='r')
    offsets = np.load(osp.join(root, spec['offsets']))
    return data, offsets


def attach_convention(store: str,
                      files_dir: str,
                      out: str,
                      name: str,
                      layout: LayoutLike,
                      pattern: str = '{clip}.npy',
                      key: Optional[str] = None,
                      scale: float = 1.0,
                      channels: Optional[int] = None,
                      reference: Optional[str] = None,
                      on_mismatch: str = 'resample',
                      progress=None) -> Dict:
    """Write a copy of ``store`` with one more convention per clip.

    Clips without a file, or whose file is bad, are skipped (counted in the
    new store's ``skipped``); the existing splits are renumbered.

    Args:
        store (str): The existing store.
        files_dir (str): Directory of per-clip files.
        out (str): The new store (must differ from ``store``).
        name (str): Name of the new convention.
        layout (str | dict | SkeletonLayout): Its layout.
        pattern (str): File name with ``{clip}``, e.g.
            ``'{clip}_mediapipe0.10.21_flipped.npz'``.
        key (str, optional): Array name inside ``.npz`` / dict ``.pt``.
        scale (float): Multiplies the coordinates (0.001: mm -> m). Applied
            to the first 3 channels only (later channels are scores).
        channels (int, optional): Keep only the first N channels (e.g. 3 to
            drop a visibility channel).
        reference (str, optional): The convention whose frame count must
            match. Defaults to the store's first convention.
        on_mismatch (str): A frame count that differs from the reference:
            ``'resample'`` (linear, with a warning, counted in ``meta``),
            ``'skip'`` or ``'error'``.
        progress (callable, optional): Wraps the clip iterator.

    Returns:
        dict: ``kept``, ``skipped`` (:class:`SkipReport`), ``resampled``
        (clip names), ``index``.
    """
    from msclr_plugin.datasets.store import SkeletonStore, SkeletonStoreWriter
    if osp.abspath(store) == osp.abspath(out):
        raise ValueError(f'{out}: the new store must not overwrite {store}')
    if on_mismatch not in ('resample', 'skip', 'error'):
        raise ValueError(f'on_mismatch must be resample|skip|error, got '
                         f'{on_mismatch!r}')
    src = SkeletonStore(store)
    if name in src.conventions:
        raise ValueError(f'{store} already has a convention {name!r}')
    layout = get_layout(layout)
    reference = reference or next(iter(src.conventions))
    if reference not in src.conventions:
        raise KeyError(f'{store} has no convention {reference!r}')
    old = {c: _read_convention(store, src.index, c) for c in src.conventions}
    specs = {
        c: dict(layout=s['layout'], scale=s.get('scale', 1.0))
        for c, s in src.conventions.items()
    }
    specs[name] = dict(layout=layout.name)
    writer = SkeletonStoreWriter(out, specs)
    report, resampled, new_index = SkipReport(), [], {}
    clips = range(len(src))
    for i in (progress(clips) if progress else clips):
        clip = src.clip_names[i]
        path = osp.join(files_dir, pattern.format(clip=clip))
        where = f'{path} (clip {clip}, convention {name})'
        if not osp.isfile(path):
            report.add(clip, f'no file {path}', f'no {name} file')
            continue
        try:
            kp = load_array(path, key)
            kp = kp[None] if kp.ndim == 3 else kp
            if channels is not None:
                kp = kp[..., :channels]
            kp = check_keypoint(kp, layout, where).copy()
        except ConversionError as err:
            report.add(clip, str(err), f'bad {name} file')
            continue
        kp[..., :3] *= np.float32(scale)
        want = int(src.num_frames(reference)[i])
        if kp.shape[1] != want:
            msg = f'{where}: {kp.shape[1]} frames, {reference} has {want}'
            if on_mismatch == 'error':
                raise ConversionError(msg)
            if on_mismatch == 'skip':
                report.add(clip, msg, 'frame count mismatch')
                continue
            warnings.warn(msg + '; resampled linearly')
            kp = resample_frames(kp, want)
            resampled.append(clip)
        arrays = {}
        for c, (data, offsets) in old.items():
            arrays[c] = np.asarray(data[offsets[i]:offsets[i + 1]]).transpose(
                1, 0, 2, 3)
        arrays[name] = kp
        new_index[i] = writer.add(clip, int(src.labels[i]), arrays)
    writer.set_splits({
        s: [new_index[i] for i in idx if i in new_index]
        for s, idx in src.splits.items()
    })
    writer.classes = src.classes
    writer.skipped = list(src.skipped) + report.items
    writer.meta = dict(src.index.get('meta') or {})
    writer.meta[f'attached_{name}'] = dict(
        files_dir=files_dir,
        pattern=pattern,
        key=key,
        scale=scale,
        reference=reference,
        resampled=resampled)
    kept = len(writer.clip_names)
    return dict(kept=kept, skipped=report, resampled=resampled, index=writer.close())


def procrustes_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint error after the similarity (rotation, scale, translation)
    that best maps ``pred`` onto ``gt``; both ``(V, 3)``. Reflections are
    excluded, so a mirrored skeleton is not hidden."""
    mu_p, mu_g = pred.mean(0), gt.mean(0)
    p, g = pred - mu_p, gt - mu_g
    u, s, vt = np.linalg.svd(p.T @ g)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rot = u @ fix @ vt
    scale = (s * np.diag(fix)).sum() / (p**2).sum()
    return np.linalg.norm(scale * p @ rot - g, axis=1)
