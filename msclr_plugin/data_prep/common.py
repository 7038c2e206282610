"""Shared pieces of the converters: clip checks, per-clip array files, the
source frame and body normalisation of each convention, skip reports, and
:class:`StoreBuilder`, the one path from converted arrays to a checked store.
"""
import argparse
import os.path as osp
import time
from collections import Counter
from typing import Dict, Iterable, List, Optional, Union

import numpy as np

from msclr_plugin.datasets.body_frame import (NORMALIZE_PRESETS, UP_NAMES,
                                              normalize_body, resample_frames,
                                              resolve_normalize, source_frame,
                                              to_store_frame)
from msclr_plugin.datasets.store import (InvalidClipError, SkeletonStoreWriter,
                                         check_clip)
from msclr_plugin.datasets.store_check import SOURCE_OPTIONS
from msclr_plugin.skeletons import get_layout
from msclr_plugin.skeletons.registry import LayoutLike

__all__ = [
    'ConversionError', 'check_keypoint', 'resample_frames', 'aimclr_preprocess',
    'load_array', 'to_mtvc', 'fit_persons', 'SkipReport', 'StoreBuilder',
    'add_store_args', 'source_args', 'print_result'
]


class ConversionError(ValueError):
    """A clip that cannot be converted; the message names file and clip.

    Args:
        message (str): The message.
        kind (str, optional): Short reason, the key of skip counts.
    """

    def __init__(self, message: str, kind: Optional[str] = None) -> None:
        super().__init__(message)
        self.kind = kind


def _kind(err: Exception, default: str) -> str:
    return getattr(err, 'kind', None) or default


def check_keypoint(kp: np.ndarray, layout: LayoutLike, where: str) -> np.ndarray:
    """:func:`~msclr_plugin.datasets.store.check_clip` of a source's array
    (units not yet known: the unit-free range check) raising
    :class:`ConversionError` (wrong rank or joint count, zero frames, NaN,
    all zeros, out of range); returns ``kp`` as float32."""
    try:
        return check_clip(kp, layout, where, metric=False)
    except InvalidClipError as err:
        raise ConversionError(str(err), _kind(err, 'invalid clip')) from None


def aimclr_preprocess(kp: np.ndarray,
                      layout: LayoutLike,
                      length: int = 50) -> np.ndarray:
    """AimCLR's 50-frame normalisation (preset ``'aimclr'`` of
    :func:`~msclr_plugin.datasets.body_frame.normalize_body`): per body
    subtract the ``neck`` role per frame, resample to ``length`` frames,
    rotate each frame about y so that the shoulder line points to +x."""
    return normalize_body(kp, layout, **dict(NORMALIZE_PRESETS['aimclr'], length=length))


def to_mtvc(arr: np.ndarray, axes: str, where: str) -> np.ndarray:
    """Reorder an array with the declared axis order into ``(M, T, V, C)``.

    Args:
        arr (np.ndarray): The array as read.
        axes (str): One letter per axis of ``arr``: ``T`` frames, ``V``
            joints, ``C`` channels, optional ``M`` persons, e.g. ``'TVC'``,
            ``'TMVC'`` (MS-CLR's per-clip files), ``'MTVC'`` (mmaction).
        where (str): The file (and clip), for messages.

    Raises:
        ConversionError: an axis order that is not a permutation of T, V, C
        (and M), or an array of another rank; never reshapes.
    """
    order = axes.upper()
    if sorted(order) not in (sorted('TVC'), sorted('MTVC')):
        raise ConversionError(f'{where}: axis order {axes!r} must name T, V, '
                              'C and optionally M once each (e.g. TVC, TMVC, '
                              'MTVC)', 'bad axis order')
    if arr.ndim != len(order):
        raise ConversionError(
            f'{where}: array of shape {arr.shape} has {arr.ndim} axes, the '
            f'declared order {order} has {len(order)}', 'shape mismatch')
    if 'M' not in order:
        arr, order = arr[None], 'M' + order
    return np.transpose(arr, [order.index(a) for a in 'MTVC'])


def fit_persons(kp: np.ndarray, num_person: int) -> np.ndarray:
    """Pad ``(M, T, V, C)`` with zero bodies or cut it to ``num_person`` (the
    store needs one M per convention)."""
    if kp.shape[0] >= num_person:
        return kp[:num_person]
    pad = np.zeros((num_person - kp.shape[0], ) + kp.shape[1:], kp.dtype)
    return np.concatenate([kp, pad])


def load_array(path: str,
               key: Optional[str] = None,
               axes: Optional[str] = None) -> np.ndarray:
    """Load one per-clip array from ``.npy``, ``.npz`` or ``.pt``.

    Args:
        path (str): The file.
        key (str, optional): Array name in a ``.npz`` / dict ``.pt``
            (optional when the file holds exactly one).
        axes (str, optional): Declared axis order (:func:`to_mtvc`); the
            result is then ``(M, T, V, C)``. None returns the array as read.

    Raises:
        ConversionError: unreadable file, ``key`` missing or ambiguous, a
        shape that does not match ``axes``.
    """
    ext = osp.splitext(path)[1].lower()
    try:
        if ext == '.npy':
            arr = np.load(path, allow_pickle=False)
        elif ext == '.npz':
            with np.load(path, allow_pickle=False) as data:
                if key is None and len(data.files) != 1:
                    raise ConversionError(f'{path}: holds {data.files}; give '
                                          'the array name (key)')
                name = key or data.files[0]
                if name not in data.files:
                    raise ConversionError(f'{path}: no array {name!r}; holds '
                                          f'{data.files}')
                arr = data[name]
        elif ext == '.pt':
            import torch
            obj = torch.load(path, map_location='cpu', weights_only=True)
            if isinstance(obj, dict):
                if key not in obj:
                    raise ConversionError(f'{path}: no entry {key!r}; holds '
                                          f'{sorted(obj)}')
                obj = obj[key]
            arr = obj.numpy() if hasattr(obj, 'numpy') else np.asarray(obj)
        else:
            raise ConversionError(f'{path}: unsupported extension {ext!r} '
                                  '(.npy, .npz, .pt)')
    except ConversionError:
        raise
    except Exception as err:  # corrupt files raise many types
        raise ConversionError(f'{path}: cannot read ({type(err).__name__}: '
                              f'{err})') from None
    return arr if axes is None else to_mtvc(arr, axes, path)


class SkipReport:
    """Clips left out of a store, with reasons (written to ``skipped``)."""

    def __init__(self) -> None:
        self.items: List[Dict[str, str]] = []

    def add(self, clip: str, reason: str, kind: Optional[str] = None) -> None:
        self.items.append(dict(clip=clip, reason=reason, kind=kind or reason))

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> Counter:
        return Counter(item['kind'] for item in self.items)

    def summary(self, kept: int) -> str:
        lines = [f'kept {kept} clips, skipped {len(self)}']
        for kind, num in self.counts().most_common():
            lines.append(f'  {num:6d} x {kind}')
        for item in self.items[:20]:
            lines.append(f'    {item["clip"]}: {item["reason"]}')
        if len(self) > 20:
            lines.append(f'    ... ({len(self) - 20} more in index.json '
                         '"skipped")')
        return '\n'.join(lines)


class StoreBuilder:
    """Write a store from converted clips: the converters' common path.

    Each convention's arrays are checked (:func:`check_keypoint`), brought
    from the source's units and axes into the store frame
    (:func:`~msclr_plugin.datasets.body_frame.to_store_frame`), normalised
    with that convention's own roles
    (:func:`~msclr_plugin.datasets.body_frame.normalize_body`) and stored;
    ``index.json`` records per convention what was applied (``source``,
    ``normalize``). A clip that fails anywhere (bad array, label out of
    range, shape differing from earlier clips, duplicate name) is skipped,
    counted and named; it never aborts the conversion. :meth:`finish` writes
    the index and runs the store checker.

    Args:
        out (str): The store directory.
        conventions (dict): ``{name: layout}`` or ``{name: dict(layout=...,
            source=None, normalize=..., scale=1.0, derived_from=None)}``:
            ``source`` the
            :func:`~msclr_plugin.datasets.body_frame.source_frame` keys of
            the arrays given to :meth:`add` (None: already in the store
            frame); ``normalize`` overrides the builder's; ``derived_from``
            the convention these arrays are computed from by a joint map
            (recorded: the checker knows them aligned by construction).
        normalize (str | dict, optional): Body normalisation of every
            convention: ``'none'``, ``'center'``, ``'aimclr'``, ``'body'`` or
            a dict of :func:`normalize_body` keys.
        classes (list[str], optional): Class names (labels index them).
        num_classes (int, optional): Class count without names.
        tool (str, optional): The script that runs this conversion
            (``tools/data/...``), recorded per convention (``made_by``) with
            its options that change coordinates, for the checker's hints.
        source_options (bool): The tool has :func:`add_store_args`'s source
            options (``--scale``, ``--up``, ``--mirror``).

    Example:
        >>> builder = StoreBuilder('work/store', {'kinectv2_25': 'kinectv2_25'},
        ...                        normalize='aimclr', num_classes=60)
        >>> builder.add('S001C001P001R001A001', 0, {'kinectv2_25': kp})
        >>> res = builder.finish(splits={'xsub_train': [0]})
        >>> print(res['check'].format())
    """

    def __init__(self,
                 out: str,
                 conventions: Dict,
                 normalize: Union[str, dict, None] = None,
                 classes: Optional[List[str]] = None,
                 num_classes: Optional[int] = None,
                 tool: Optional[str] = None,
                 source_options: bool = False) -> None:
        made_by = None if tool is None else dict(
            tool=tool, options=['--preprocess'] +
            (list(SOURCE_OPTIONS) if source_options else []))
        self.layouts, self.sources, self.normalize, specs = {}, {}, {}, {}
        for name, spec in conventions.items():
            spec = dict(spec) if isinstance(spec, dict) and 'layout' in spec \
                else dict(layout=spec)
            self.layouts[name] = get_layout(spec['layout'])
            source = spec.get('source')
            self.sources[name] = source_frame(**(source or {}))
            self.normalize[name] = resolve_normalize(spec.get('normalize', normalize))
            specs[name] = dict(
                layout=self.layouts[name],
                scale=spec.get('scale', 1.0),
                source=self.sources[name],
                normalize=self.normalize[name],
                coords=spec.get('coords'),
                derived_from=spec.get('derived_from'),
                made_by=spec.get('made_by', made_by))
        self.writer = SkeletonStoreWriter(out, specs, classes, num_classes)
        self.report = SkipReport()

    def prepare(self, name: str, kp: np.ndarray, where: str) -> np.ndarray:
        """Check one convention's array and bring it into the store's frame
        and normalisation (what :meth:`add` stores)."""
        kp = check_keypoint(kp, self.layouts[name], where)
        norm = self.normalize[name]
        if kp.shape[-1] < 3 and (norm or self.sources[name] != source_frame()):
            raise ConversionError(
                f'{where}: {kp.shape[-1]} channels; source axes and body '
                'normalisation need x, y, z', 'not 3D')
        kp = to_store_frame(kp, self.sources[name])
        return kp if norm is None else normalize_body(kp, self.layouts[name], **norm)

    def add(self,
            clip: str,
            label: int,
            arrays: Dict[str, np.ndarray],
            source: str = '',
            prepared: Iterable[str] = (),
            source_frames: Optional[Dict[str, int]] = None) -> Optional[int]:
        """Prepare and store one clip, or skip it (counted, named).

        Args:
            clip (str): Clip name.
            label (int): Class index.
            arrays (dict): ``{convention: (M, T, V, C)}`` in the source frame.
            source (str): The file, named in skip reasons.
            prepared (Iterable[str]): Conventions given already in the
                store's frame and normalisation (stored as they are).
            source_frames (dict, optional): Source frames per convention
                (defaults to the frames of ``arrays``), recorded in the
                store for later ``attach_convention`` runs.

        Returns:
            int | None: The clip's index, or None when skipped.
        """
        where = f'{source + ", " if source else ""}clip {clip}'
        try:
            out = {
                c: kp if c in prepared else self.prepare(
                    c, kp, f'{where}, convention {c}')
                for c, kp in arrays.items()
            }
            frames = {c: np.shape(kp)[1] for c, kp in arrays.items()}
            frames.update(source_frames or {})
            return self.writer.add(clip, label, out, source_frames=frames)
        except (ConversionError, InvalidClipError) as err:
            self.report.add(clip, str(err), _kind(err, 'invalid clip'))
            return None

    def skip(self, clip: str, reason: str, kind: Optional[str] = None) -> None:
        """Record a clip left out (counted by ``kind``)."""
        self.report.add(clip, reason, kind)

    def finish(self,
               splits: Optional[Dict[str, List[int]]] = None,
               meta: Optional[dict] = None,
               skipped_before: Iterable[dict] = (),
               check: bool = True,
               progress=None) -> Dict:
        """Write the index and check the store.

        Args:
            splits (dict, optional): ``{split: [clip indices]}``.
            meta (dict, optional): Free JSON data for ``index.json``.
            skipped_before (Iterable[dict]): Skips of an earlier step kept
                in ``skipped`` before this builder's.
            check (bool): Run the store checker. Defaults to True.
            progress (callable, optional): Wraps the checker's clip loop.

        Returns:
            dict: ``kept``, ``skipped`` (:class:`SkipReport`), ``index``
            (path; None when every clip was skipped: nothing is written and
            ``check`` fails) and ``check``
            (:class:`~msclr_plugin.datasets.StoreCheck` or None).
        """
        from msclr_plugin.datasets.store_check import StoreCheck, check_store
        if not self.writer.clip_names:  # no store: nothing to train on
            self.writer.abort()
            report = StoreCheck(self.writer.root, 0)
            report.errors.append(f'{self.writer.root}: no clips kept, no store '
                                 'written (see the skips)')
            return dict(kept=0, skipped=self.report, index=None, check=report)
        index = self.writer.close(
            splits=splits,
            skipped=list(skipped_before) + self.report.items,
            meta=meta)
        return dict(
            kept=len(self.writer.clip_names),
            skipped=self.report,
            index=index,
            check=check_store(self.writer.root, progress=progress) if check else None)


def add_store_args(parser: argparse.ArgumentParser,
                   source: bool = True,
                   normalize: Optional[str] = 'none') -> None:
    """Command-line options of the converters: ``--preprocess`` (body
    normalisation) and, with ``source``, the source's ``--scale``, ``--up``
    and ``--mirror``; ``--no-check`` skips the store check."""
    parser.add_argument(
        '--preprocess',
        choices=sorted(NORMALIZE_PRESETS),
        default=normalize,
        help='body normalisation per convention with its own roles: none; '
        'center (neck role per frame); aimclr (neck per frame, 50 frames, '
        'shoulders along +x per frame); body (neck per frame, pelvis->neck '
        'along +y and shoulders along +x once per clip)' +
        ('' if normalize else '; default: as the reference convention'))
    if source:
        parser.add_argument(
            '--scale',
            type=float,
            default=1.0,
            help='multiplies x, y, z into metres (0.001 for millimetres)')
        parser.add_argument(
            '--up',
            default='y-up',
            choices=sorted(UP_NAMES),
            help='the source axis pointing up: y-down for image-like camera '
            'frames (OpenCV, MediaPipe, MeTRAbs), z-up for z-up worlds')
        parser.add_argument(
            '--mirror',
            action='store_true',
            help='the source is a mirror image of Kinect space (e.g. '
            'estimated on mirrored video without flipping back)')
    parser.add_argument(
        '--no-check', action='store_true', help='skip the store check')


def source_args(args: argparse.Namespace) -> dict:
    """The :func:`source_frame` of :func:`add_store_args` options."""
    return source_frame(args.scale, args.up, args.mirror)


def read_lines(path: str) -> List[str]:
    """The non-empty lines of a text file (class names, sequence lists),
    stripped."""
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def print_result(res: Dict, start: float) -> int:
    """Print a converter's skips, store check and output; the exit code
    (1 when the store check failed)."""
    print(res['skipped'].summary(res['kept']))
    if res.get('check') is not None:
        print(res['check'].format())
    if res['index'] is not None:
        print(f'wrote {res["index"]} in {time.time() - start:.1f} s')
    return 0 if res.get('check') is None or res['check'].ok else 1
