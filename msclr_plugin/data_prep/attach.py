"""Attach a convention computed elsewhere (e.g. MeTRAbs SMPL-X, MediaPipe),
or derived from one of the store's conventions by a joint regressor, to an
existing store, writing a new store.

Per-clip files are found by a name pattern (``{clip}`` is replaced by the
clip name) and may be ``.npy``, ``.npz`` (array chosen by ``key``) or ``.pt``
(read with ``torch.load(weights_only=True)``: a tensor, or a dict of tensors
chosen by ``key``). Their axis order is declared (``axes``, e.g. ``TVC``,
``TMVC`` for MS-CLR's per-clip files, ``MTVC``); a shape that does not match
is an error naming the file, never a reshape. The new convention is brought
from the source's stated units and axes into the store frame and normalised
as the reference convention was (recorded in the store), with its own roles.
"""
import os.path as osp
import warnings
from typing import Dict, Optional, Union

import numpy as np

from msclr_plugin.skeletons import JointRegressor, get_layout
from msclr_plugin.skeletons.registry import LayoutLike

from .common import (ConversionError, StoreBuilder, load_array, resample_frames,
                     to_mtvc)


def _axes_of(arr: np.ndarray, axes: Optional[str], path: str) -> str:
    if axes is not None:
        return axes
    if arr.ndim == 3:
        return 'TVC'
    # the user's to fix, not a bad clip: a ValueError, never counted as a skip
    raise ValueError(
        f'{path}: a {arr.ndim}-D array of shape {arr.shape}: declare its axis '
        "order (axes='TMVC' for MS-CLR's (T, M, V, C) files, 'MTVC' for "
        "mmaction's; --axes)")


def _reference_normalize(src, reference: str) -> Union[str, dict, None]:
    """How the reference convention was normalised, from the store."""
    spec = src.conventions[reference]
    if 'normalize' in spec:
        return spec['normalize']
    # stores of version 1 record the NTU converter's preprocess in meta
    preprocess = (src.index.get('meta') or {}).get('preprocess')
    if preprocess is None:
        raise ValueError(f'{src.root}: the store does not record how '
                         f'{reference} was normalised (version 1); give '
                         'preprocess (--preprocess)')
    return preprocess


def attach_convention(store: str,
                      files_dir: Optional[str],
                      out: str,
                      name: str,
                      layout: LayoutLike,
                      pattern: str = '{clip}.npy',
                      key: Optional[str] = None,
                      axes: Optional[str] = None,
                      scale: float = 1.0,
                      up: str = '+y',
                      mirror: bool = False,
                      preprocess: Union[str, dict, None] = None,
                      channels: Optional[int] = None,
                      reference: Optional[str] = None,
                      on_mismatch: str = 'resample',
                      derive_from: Optional[str] = None,
                      check: bool = True,
                      progress=None) -> Dict:
    """Write a copy of ``store`` with one more convention per clip.

    Clips without a file, or whose file is bad, are skipped (counted in the
    new store's ``skipped``); the existing splits are renumbered.

    Args:
        store (str): The existing store.
        files_dir (str, optional): Directory of per-clip files (None with
            ``derive_from``).
        out (str): The new store (must differ from ``store``).
        name (str): Name of the new convention.
        layout (str | dict | SkeletonLayout): Its layout.
        pattern (str): File name with ``{clip}``, e.g.
            ``'{clip}_mediapipe0.10.21_flipped.npz'``.
        key (str, optional): Array name inside ``.npz`` / dict ``.pt``.
        axes (str, optional): Axis order of the arrays (``'TVC'``,
            ``'TMVC'``, ``'MTVC'``, ...). None: 3-D arrays are ``TVC``, other
            ranks raise :class:`ConversionError` asking for it.
        scale (float): Multiplies x, y, z into metres (0.001: mm -> m).
        up (str): The source's up axis (``'-y'`` for y-down camera frames
            such as MediaPipe's and MeTRAbs', ``'+z'`` for z-up worlds).
        mirror (bool): The source is a mirror image of the store frame.
        preprocess (str | dict, optional): Body normalisation of the new
            convention. None: as the reference convention was normalised
            (recorded in the store).
        channels (int, optional): Keep only the first N channels (e.g. 3 to
            drop a visibility channel).
        reference (str, optional): The convention whose frame count (before
            any resampling of the store) the files must have. Defaults to
            the store's first convention.
        on_mismatch (str): A frame count that differs from the reference:
            ``'resample'`` (linear, with a warning, counted in ``meta``),
            ``'skip'`` or ``'error'``.
        derive_from (str, optional): Instead of files, derive the new
            convention from this convention of the store (as stored: in the
            store frame, with its scale) through
            :meth:`JointRegressor.between` (built-in chains and joint
            names); then normalised as ``preprocess`` says.
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the clip iterator.

    Returns:
        dict: ``kept``, ``skipped`` (:class:`SkipReport`), ``resampled``
        (clip names), ``index``, ``check``.
    """
    from msclr_plugin.datasets.store import SkeletonStore
    if osp.abspath(store) == osp.abspath(out):
        raise ValueError(f'{out}: the new store must not overwrite {store}')
    if on_mismatch not in ('resample', 'skip', 'error'):
        raise ValueError(f'on_mismatch must be resample|skip|error, got '
                         f'{on_mismatch!r}')
    if axes is not None:  # fail on a bad order before reading any file
        to_mtvc(np.zeros((1, ) * len(axes)), axes, 'axes')
    src = SkeletonStore(store)
    if name in src.conventions:
        raise ValueError(f'{store} already has a convention {name!r}')
    layout = get_layout(layout)
    reference = reference or next(iter(src.conventions))
    if reference not in src.conventions:
        raise KeyError(f'{store} has no convention {reference!r}')
    if preprocess is None:
        preprocess = _reference_normalize(src, reference)
    regressor = None
    if derive_from is not None:
        if derive_from not in src.conventions:
            raise KeyError(f'{store} has no convention {derive_from!r} to '
                           f'derive {name} from ({sorted(src.conventions)})')
        regressor = JointRegressor.between(src.layout(derive_from), layout)
    elif files_dir is None:
        raise ValueError('give the directory of the files or the '
                         'convention to derive from')
    specs = {
        c: dict(
            layout=src.layout(c),
            scale=s.get('scale', 1.0),
            source=s.get('source'),
            normalize=s.get('normalize'),
            coords=s.get('coords'),
            derived_from=s.get('derived_from'),
            made_by=s.get('made_by'))
        for c, s in src.conventions.items()
    }
    specs[name] = dict(
        layout=layout,
        source=dict(scale=scale, up=up, mirror=mirror),
        normalize=preprocess) if regressor is None else dict(
            # made from stored values: already in the store frame
            layout=layout,
            scale=specs[derive_from]['scale'],
            normalize=preprocess,
            derived_from=derive_from)
    builder = StoreBuilder(out, specs, classes=src.classes,
                           num_classes=src.num_classes,
                           tool='tools/data/attach_convention.py',
                           source_options=True)
    old_frames = {c: src.source_frames(c) for c in src.conventions}
    resampled, new_index = [], {}
    clips = range(len(src))
    for i in (progress(clips) if progress else clips):
        clip = src.clip_names[i]
        frames = {c: int(f[i]) for c, f in old_frames.items()}
        arrays = {c: src.get(i, c, scaled=False) for c in src.conventions}
        if regressor is not None:
            path = f'{store}, convention {derive_from}'
            kp = regressor(arrays[derive_from])
            frames[name] = frames[derive_from]
        else:
            path = osp.join(files_dir, pattern.format(clip=clip))
            where = f'{path} (clip {clip}, convention {name})'
            if not osp.isfile(path):
                builder.skip(clip, f'no file {path}', f'no {name} file')
                continue
            try:
                arr = load_array(path, key)
                kp = to_mtvc(arr, _axes_of(arr, axes, path), where)
            except ConversionError as err:
                builder.skip(clip, str(err), f'bad {name} file')
                continue
            if channels is not None:
                kp = kp[..., :channels]
            want = int(old_frames[reference][i])
            if kp.shape[1] != want:
                msg = f'{where}: {kp.shape[1]} frames, {reference} has {want}'
                if on_mismatch == 'error':
                    raise ConversionError(msg)
                if on_mismatch == 'skip':
                    builder.skip(clip, msg, 'frame count mismatch')
                    continue
                warnings.warn(msg + '; resampled linearly')
                kp = resample_frames(kp, want)
                resampled.append(clip)
        arrays[name] = kp
        idx = builder.add(
            clip,
            int(src.labels[i]),
            arrays,
            path,
            prepared=src.conventions,
            source_frames=frames)
        if idx is not None:
            new_index[i] = idx
    meta = dict(src.index.get('meta') or {})
    meta[f'attached_{name}'] = dict(
        files_dir=files_dir,
        pattern=pattern,
        key=key,
        axes=axes,
        reference=reference,
        resampled=resampled) if regressor is None else dict(
            derived_from=derive_from)
    res = builder.finish({
        s: [new_index[i] for i in idx if i in new_index]
        for s, idx in src.splits.items()
    },
                         meta=meta,
                         skipped_before=src.skipped,
                         check=check,
                         progress=progress)
    return dict(res, resampled=resampled)


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
