"""Any skeleton data -> skeleton store: per-clip arrays or per-frame text rows
in a declared layout, with a table of clips (labels, subjects, splits and
optional frame ranges).

Inputs, one file per recording (several clips may cut one recording):

- arrays (``.npy``, ``.npz``, ``.txt``/``.csv``...) with a declared axis order
  ``axes`` over ``T`` (frames), ``V`` (joints), ``C`` (channels) and
  optionally ``M`` (persons), e.g. ``'TVC'``, ``'MTVC'``, ``'TMVC'``. A text
  file is a table: a space in ``axes`` separates the axes along its lines
  from those along its columns (``'TV C'``: a line per joint and frame, as
  MSR Action3D; ``'T VC'``: a line per frame); without a space the first
  axis runs along the lines.
- per-frame text rows with a declared column layout ``columns``, e.g.
  ``'frame VC'`` for ``frame x1 y1 z1 ... x20 y20 z20``: ``frame`` is the
  frame number, ``_`` a column to ignore and one block of ``M``/``V``/``C``
  letters the coordinates in that order (``VC``: joint by joint).

A shape that does not fit the declaration is an error naming the file, never
a reshape. Nothing here knows a joint index: the joint count comes from the
layout. Clips go through :class:`~.common.StoreBuilder` (checks, the source's
units and axes, normalisation, counted skips, the store check).
"""
import csv
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from msclr_plugin.skeletons import JointRegressor, get_layout
from msclr_plugin.skeletons.registry import LayoutLike

from .common import (ConversionError, StoreBuilder, fit_persons, load_array,
                     to_mtvc)

TABLE_FIELDS = ('clip', 'label', 'file', 'subject', 'split', 'start', 'end')


def parse_axes(axes: str) -> Tuple[str, str]:
    """``'TV C'`` -> ``('TVC', 'C')``: all axes, and those along a text
    line (empty when ``axes`` has no space).

    Raises:
        ValueError: not a permutation of ``TVC`` or ``MTVC`` (one optional
            space).
    """
    groups = axes.upper().split()
    flat = ''.join(groups)
    if len(groups) not in (1, 2) or sorted(flat) not in (sorted('TVC'),
                                                         sorted('MTVC')):
        raise ValueError(f'axes {axes!r}: expected the letters T, V, C and '
                         'optionally M, each once, with at most one space '
                         "(e.g. 'TVC', 'MTVC', 'TV C')")
    return flat, groups[1] if len(groups) == 2 else ''


def read_table(path: str, delimiter: Optional[str] = None) -> np.ndarray:
    """A text file of numbers as a 2-D float array (lines x columns).

    Raises:
        ConversionError: unreadable, ragged or empty.
    """
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2,
                           delimiter=delimiter)
    except OSError as err:
        raise ConversionError(f'{path}: cannot read ({err})') from None
    except ValueError as err:
        raise ConversionError(f'{path}: {_table_problem(path, delimiter, err)}',
                              'bad text file') from None
    if not table.size:
        raise ConversionError(f'{path}: no numbers')
    return table


def _table_problem(path: str, delimiter: Optional[str], err: Exception) -> str:
    """What makes a text file no table: the first line whose count of values
    differs from the first line's (a row cut short), or numpy's reason."""
    width = None
    with open(path) as f:
        for num, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            count = len(line.split(delimiter))
            if width is None:
                width = count
            elif count != width:
                return (f'line {num} has {count} values, the lines before it '
                        f'{width}: a row cut short or run together')
    return f'not a table of numbers ({err})'


def _divide(total: int, part: int, what: str, where: str) -> int:
    if part <= 0 or total % part:
        raise ConversionError(f'{where}: {what}', 'shape mismatch')
    return total // part


def table_to_mtvc(table: np.ndarray, axes: str, num_joints: int,
                        num_person: Optional[int], where: str) -> np.ndarray:
    """A text table read with ``axes`` (see :func:`parse_axes`) as
    ``(M, T, V, C)``; T and C follow from the table's size."""
    flat, along_line = parse_axes(axes)
    along_line = along_line or flat[1:]
    along_lines = flat[:len(flat) - len(along_line)]
    if 'T' not in along_lines or 'C' not in along_line:
        raise ValueError(f'axes {axes!r}: in text files frames (T) run along '
                         'the lines and channels (C) along a line')
    if 'M' in flat and num_person is None:
        raise ValueError(f'axes {axes!r} have persons (M): give the number '
                         'of persons')
    sizes = dict(V=num_joints, M=num_person or 1)
    rows, cols = table.shape
    line_known = int(np.prod([sizes[a] for a in along_line if a != 'C']))
    sizes['C'] = _divide(
        cols, line_known, f'{cols} numbers a line is not a multiple of '
        f'{line_known} ({"x".join(a for a in along_line if a != "C")} of '
        f'axes {axes!r})', where)
    lines_known = int(np.prod([sizes[a] for a in along_lines if a != 'T']))
    sizes['T'] = _divide(
        rows, lines_known, f'{rows} lines is not a multiple of '
        f'{lines_known} ({"x".join(a for a in along_lines if a != "T")} of '
        f'axes {axes!r})', where)
    return to_mtvc(table.reshape([sizes[a] for a in flat]), flat, where)


def parse_columns(columns: str) -> Tuple[List[str], int]:
    """``'frame _ VC'`` -> ``(['frame', '_', 'VC'], 2)``: the tokens and the
    position of the coordinate block.

    Raises:
        ValueError: not exactly one block of ``V``, ``C`` (and optionally
            ``M``), or unknown tokens.
    """
    tokens = columns.replace(',', ' ').split()
    blocks = [i for i, t in enumerate(tokens) if t not in ('frame', '_')]
    bad = [t for t in tokens if t not in ('frame', '_') and
           sorted(t.upper()) not in (sorted('VC'), sorted('MVC'))]
    if len(blocks) != 1 or bad or tokens.count('frame') > 1:
        raise ValueError(
            f'columns {columns!r}: expected "frame" (the frame number, at '
            'most once), "_" (a column to ignore) and one coordinate block '
            'such as VC (x1 y1 z1 x2 ...), CV (x1 x2 ... y1 ...) or MVC')
    tokens[blocks[0]] = tokens[blocks[0]].upper()
    return tokens, blocks[0]


def rows_to_mtvc(table: np.ndarray, columns: str, num_joints: int,
                       num_person: Optional[int],
                       where: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Per-frame rows read with ``columns`` (see :func:`parse_columns`) as
    ``(M, T, V, C)`` and the frame numbers (None without a ``frame``
    column)."""
    tokens, pos = parse_columns(columns)
    block = tokens[pos]
    if 'M' in block and num_person is None:
        raise ValueError(f'columns {columns!r} have persons (M): give the '
                         'number of persons')
    sizes = dict(V=num_joints, M=num_person or 1)
    width = table.shape[1] - (len(tokens) - 1)
    known = sizes['V'] * (sizes['M'] if 'M' in block else 1)
    sizes['C'] = _divide(
        width, known, f'{table.shape[1]} columns: {width} coordinates a row '
        f'is not a multiple of {known} for columns {columns!r}', where)
    coords = table[:, pos:pos + width]
    kp = coords.reshape([len(table)] + [sizes[a] for a in block])
    kp = to_mtvc(kp, 'T' + block, where)
    frames = None
    if 'frame' in tokens:
        at = tokens.index('frame')
        frames = table[:, at if at < pos else at + width - 1]
    return kp, frames


DUPLICATE_POLICIES = ('drop', 'keep', 'error')


def repeated_frames(kp: np.ndarray, frames: Optional[np.ndarray],
                    policy: str, where: str) -> Tuple[np.ndarray,
                                                      Optional[np.ndarray], int]:
    """Apply the policy for rows that repeat a frame number: ``'drop'`` keeps
    the first row of each frame number, ``'keep'`` stores every row,
    ``'error'`` refuses the recording.

    Returns:
        tuple: ``kp``, ``frames`` (as kept) and the number of repeated rows
        (counted under every policy).

    Raises:
        ConversionError: ``'error'`` and a repeated frame number.
    """
    if frames is None:
        return kp, frames, 0
    _, first = np.unique(frames, return_index=True)
    repeated = len(frames) - len(first)
    if not repeated or policy == 'keep':
        return kp, frames, repeated
    if policy == 'error':
        dup = frames[np.setdiff1d(np.arange(len(frames)), first)[0]]
        raise ConversionError(
            f'{where}: {repeated} rows repeat a frame number (e.g. frame '
            f'{dup:g}); --duplicate-frames drop keeps the first of each, keep '
            'stores them all', 'repeated frame numbers')
    keep = np.sort(first)
    return kp[:, keep], frames[keep], repeated


def select_frames(kp: np.ndarray, frames: Optional[np.ndarray], start: int,
                  end: int, where: str) -> np.ndarray:
    """The frames ``start..end`` (inclusive) of ``(M, T, V, C)`` and their
    numbers (None without): frame numbers of the ``frame`` column when there
    is one, else 0-based indices."""
    numbers = np.arange(kp.shape[1]) if frames is None else frames
    keep = (numbers >= start) & (numbers <= end)
    if not keep.any():
        raise ConversionError(f'{where}: no frame in {start}..{end}',
                              'empty frame range')
    return kp[:, keep], None if frames is None else frames[keep]


def _clip_range(row: dict, where: str) -> Union[None, Tuple[int, int], str]:
    """The row's frame range, None (no range: the whole recording) or why
    the range is unusable (NaN, not numbers, one end missing, start > end:
    that clip is skipped and counted)."""
    start, end = (str(row.get(k, '')).strip() for k in ('start', 'end'))
    if not start and not end:
        return None
    try:
        start, end = int(float(start)), int(float(end))
    except (ValueError, OverflowError):  # NaN, inf, empty, not a number
        return (f'{where}: start/end {row.get("start")!r}, '
                f'{row.get("end")!r} are not two frame numbers')
    if start > end:
        return f'{where}: start {start} > end {end}'
    return start, end


def read_clip_table(path: str) -> List[dict]:
    """The clips of a ``.csv`` (with a header line) or ``.json`` (a list of
    objects, or an object ``{clip: {...}}``) table.

    Fields: ``clip`` and ``label`` (required), ``file``, ``subject``,
    ``split`` (one or more split names separated by ``;`` or spaces),
    ``start``/``end`` (a frame range, inclusive; ``range`` of each row is
    the range, None or the message saying why it is unusable); other fields
    are kept (a file name pattern may use them).

    Raises:
        ValueError: missing fields, duplicate clips; the message names the
            file and the row.
    """
    if path.lower().endswith('.json'):
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict):
            data = [dict(v, clip=k) for k, v in data.items()]
        rows = [dict(r) for r in data]
        label_of = [f'{path}, entry {i}' for i in range(len(rows))]
    else:
        with open(path, newline='') as f:
            rows = [{(k or '').strip(): (v or '').strip()
                     for k, v in r.items()} for r in csv.DictReader(f)]
        label_of = [f'{path}, line {i + 2}' for i in range(len(rows))]
    seen = {}
    for row, where in zip(rows, label_of):
        missing = [k for k in ('clip', 'label') if str(row.get(k, '')) == '']
        if missing:
            raise ValueError(f'{where}: no {" or ".join(missing)} (fields: '
                             f'{", ".join(TABLE_FIELDS)})')
        row['clip'] = str(row['clip'])
        if row['clip'] in seen:
            raise ValueError(f'{where}: clip {row["clip"]!r} already on '
                             f'{seen[row["clip"]]}')
        seen[row['clip']] = where
        row['range'] = _clip_range(row, where)
        row['where'] = where
    if not rows:
        raise ValueError(f'{path}: no clips')
    return rows


def resolve_labels(rows: List[dict],
                   classes: Optional[Sequence[str]] = None
                   ) -> Tuple[List[int], Optional[List[str]]]:
    """Integer labels and class names of the table rows.

    Labels that are all integers are kept (``classes``, if given, names
    them); class names map to their position in ``classes``, by default the
    sorted distinct names.

    Raises:
        ValueError: a label outside ``classes``.
    """
    raw = [str(r['label']).strip() for r in rows]
    if all(v.lstrip('-').isdigit() for v in raw):
        labels = [int(v) for v in raw]
        bad = [(r, v) for r, v in zip(rows, labels)
               if v < 0 or (classes is not None and v >= len(classes))]
        if bad:
            raise ValueError(f'{bad[0][0]["where"]}: label {bad[0][1]} '
                             'outside the classes')
        return labels, list(classes) if classes is not None else None
    classes = list(classes) if classes is not None else sorted(set(raw))
    index = {c: i for i, c in enumerate(classes)}
    for row, value in zip(rows, raw):
        if value not in index:
            raise ValueError(f'{row["where"]}: label {value!r} is not a '
                             f'class ({classes})')
    return [index[v] for v in raw], classes


def make_splits(rows: List[dict], train_subjects: Optional[Sequence] = None
                ) -> Dict[str, List[int]]:
    """Splits from the ``split`` field (row positions) and, with
    ``train_subjects``, ``xsub_train``/``xsub_val`` from the ``subject``
    field."""
    splits: Dict[str, List[int]] = {}
    for i, row in enumerate(rows):
        for name in str(row.get('split') or '').replace(';', ' ').split():
            splits.setdefault(name, []).append(i)
    if train_subjects is not None:
        train = {_subject(s) for s in train_subjects}
        missing = [r['where'] for r in rows if _subject(r.get('subject')) == '']
        if missing:
            raise ValueError(f'{missing[0]}: no subject (needed for the '
                             'train subjects)')
        splits['xsub_train'] = [
            i for i, r in enumerate(rows) if _subject(r['subject']) in train
        ]
        splits['xsub_val'] = [
            i for i, r in enumerate(rows) if _subject(r['subject']) not in train
        ]
    return splits


def _subject(value):
    """Subjects compare as numbers when they are (``'01'`` is ``1``)."""
    value = str(value if value is not None else '').strip()
    return int(value) if value.lstrip('-').isdigit() else value


class RecordingReader:
    """Reads recordings into ``(M, T, V, C)`` (+ frame numbers), keeping the
    last one (clips cut from one recording usually follow each other).

    Args:
        layout (str | dict | SkeletonLayout): Layout of the data.
        axes (str): Axis order of arrays, see :func:`parse_axes`.
        columns (str, optional): Column layout of per-frame text rows, see
            :func:`parse_columns`; text files are then read as rows.
        key (str, optional): Array name in ``.npz`` files.
        delimiter (str, optional): Of text files; None: whitespace.
        num_person (int, optional): Persons of text data with an M axis.
    """

    def __init__(self, layout: LayoutLike, axes: str = 'TVC',
                 columns: Optional[str] = None, key: Optional[str] = None,
                 delimiter: Optional[str] = None,
                 num_person: Optional[int] = None) -> None:
        self.num_joints = get_layout(layout).num_joints
        parse_axes(axes)
        if columns is not None:
            parse_columns(columns)
        self.axes, self.columns, self.key = axes, columns, key
        self.delimiter, self.num_person = delimiter, num_person
        self._last = (None, None)

    def __call__(self, path: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        if self._last[0] != path:
            self._last = (path, self._read(path))
        return self._last[1]

    def _read(self, path: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        if osp.splitext(path)[1].lower() in ('.npy', '.npz', '.pt'):
            return load_array(path, self.key, parse_axes(self.axes)[0]), None
        table = read_table(path, self.delimiter)
        if self.columns is not None:
            return rows_to_mtvc(table, self.columns, self.num_joints,
                                      self.num_person, path)
        return table_to_mtvc(table, self.axes, self.num_joints,
                                   self.num_person, path), None


def convert_arrays(data_dir: str,
                   table: str,
                   out: str,
                   layout: LayoutLike,
                   pattern: Optional[str] = None,
                   axes: str = 'TVC',
                   columns: Optional[str] = None,
                   key: Optional[str] = None,
                   delimiter: Optional[str] = None,
                   num_person: Optional[int] = None,
                   channels: Optional[int] = None,
                   scale: float = 1.0,
                   up: str = '+y',
                   mirror: bool = False,
                   preprocess: Union[str, dict, None] = 'none',
                   derived: Sequence[str] = (),
                   classes: Optional[Sequence[str]] = None,
                   train_subjects: Optional[Sequence] = None,
                   name: Optional[str] = None,
                   duplicate_frames: str = 'drop',
                   check: bool = True,
                   progress=None) -> Dict:
    """Convert the recordings of a folder into a store, clip by clip.

    Clips whose file is missing or bad (unreadable, a shape that does not
    fit, NaN, all zeros, out of a body's range), whose frame range is
    unusable (NaN, not numbers, start > end) or holds no frame, or whose
    person count differs from the first clip's (without ``num_person``) are
    skipped and counted with the reason (``index.json`` ``skipped``).

    Args:
        data_dir (str): Folder of the recordings.
        table (str): ``.csv``/``.json`` table of clips (:func:`read_clip_table`).
        out (str): Output store directory.
        layout (str | dict | SkeletonLayout): Layout of the data: a built-in
            name, a layout file or a dict.
        pattern (str, optional): File name of a clip's recording, formatted
            with the clip's fields (``'{clip}.npy'``, ``'joints_{file}.txt'``).
            Defaults to ``'{file}'`` when the table has a ``file`` field,
            else ``'{clip}.npy'``.
        axes (str): Axis order of arrays and text tables (:func:`parse_axes`).
        columns (str, optional): Column layout of per-frame text rows
            (:func:`parse_columns`); then text files are read as rows.
        key (str, optional): Array name in ``.npz`` files.
        delimiter (str, optional): Of text files (``','`` for CSV); None:
            whitespace.
        num_person (int, optional): Persons per clip: clips are padded with
            zero persons or cut to it. Default: as read (every clip must
            have the first clip's count).
        channels (int, optional): Keep only the first N channels (3 drops a
            confidence channel).
        scale (float): Multiplies x, y, z into metres (0.001: millimetres).
        up (str): The source's up axis (``'+y'``; ``'-y'`` for image-like
            camera frames), see
            :func:`~msclr_plugin.datasets.body_frame.source_frame`.
        mirror (bool): The source is a mirror image of Kinect space.
        preprocess (str | dict, optional): Body normalisation of every
            convention (``'none'``, ``'center'``, ``'aimclr'``, ``'body'``).
        derived (Sequence[str]): Further conventions of the same motion
            through :meth:`JointRegressor.between` (built-in chains and joint
            names), e.g. ``['coco']``; all channels are regressed.
        classes (Sequence[str], optional): Class names in label order.
        train_subjects (Sequence, optional): Subjects of split
            ``xsub_train``; the others form ``xsub_val``.
        name (str, optional): Convention name in the store. Defaults to the
            layout's name.
        duplicate_frames (str): Rows of per-frame text (``columns`` with
            ``frame``) that repeat a frame number (Kinect exports hold
            near-identical repeats): ``'drop'`` (default) keeps the first row
            of each frame number, ``'keep'`` stores them all, ``'error'``
            skips the clip; counted either way (``repeated_frames``, and
            ``meta.duplicate_frames`` in ``index.json``).
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the clip iterator.

    Returns:
        dict: ``kept``, ``skipped`` (:class:`SkipReport`), ``index``,
        ``check``, ``splits`` (clips per split), ``classes``,
        ``repeated_frames`` (``{clip: rows repeating a frame number}``).
    """
    layout = get_layout(layout)
    name = name or layout.name
    rows = read_clip_table(table)
    labels, classes = resolve_labels(rows, classes)
    splits = make_splits(rows, train_subjects)
    if pattern is None:
        pattern = '{file}' if all(r.get('file') for r in rows) else \
            '{clip}.npy'
    if duplicate_frames not in DUPLICATE_POLICIES:
        raise ValueError(f'duplicate_frames must be one of '
                         f'{DUPLICATE_POLICIES}, got {duplicate_frames!r}')
    read = RecordingReader(layout, axes, columns, key, delimiter, num_person)
    repeats = {}  # clip: rows repeating a frame number
    targets = [get_layout(c) for c in derived]
    # regressed in the source's frame: a map of joints with weights summing
    # to 1 commutes with the builder's scaling and rotation into the store
    regressors = {t.name: JointRegressor.between(layout, t) for t in targets}
    source = dict(scale=scale, up=up, mirror=mirror)
    conventions = {name: dict(layout=layout, source=source)}
    conventions.update({t.name: dict(layout=t, source=source, derived_from=name)
                        for t in targets})
    builder = StoreBuilder(out, conventions, normalize=preprocess,
                           classes=classes, tool='tools/data/arrays_to_store.py',
                           source_options=True)
    index_of = {}
    for i in (progress(range(len(rows))) if progress else range(len(rows))):
        row = rows[i]
        clip = row['clip']
        try:
            path = osp.join(data_dir, pattern.format(**row))
        except KeyError as err:
            raise ValueError(f'{row["where"]}: pattern {pattern!r} uses the '
                             f'field {err} that the table lacks') from None
        if isinstance(row['range'], str):
            builder.skip(clip, row['range'], 'unusable frame range')
            continue
        if not osp.isfile(path):
            builder.skip(clip, f'no file {path}', 'no file')
            continue
        try:
            kp, frames = read(path)
            if row['range'] is not None:
                kp, frames = select_frames(kp, frames, *row['range'],
                                           f'{path} (clip {clip})')
            kp, _, repeated = repeated_frames(kp, frames, duplicate_frames,
                                              f'{path} (clip {clip})')
            if repeated:
                repeats[clip] = repeated
        except ConversionError as err:
            builder.skip(clip, str(err), err.kind or 'bad file')
            continue
        if channels is not None:
            kp = kp[..., :channels]
        if num_person is not None:
            kp = fit_persons(kp, num_person)
        arrays = {name: kp}
        arrays.update({c: reg(kp) for c, reg in regressors.items()})
        idx = builder.add(clip, labels[i], arrays, path)
        if idx is not None:
            index_of[i] = idx
    splits = {
        s: [index_of[i] for i in idx if i in index_of]
        for s, idx in splits.items()
    }
    res = builder.finish(
        splits,
        meta=dict(
            source=data_dir,
            table=table,
            pattern=pattern,
            axes=axes if columns is None else None,
            columns=columns,
            derived=list(regressors),
            duplicate_frames=dict(policy=duplicate_frames,
                                  clips=len(repeats),
                                  rows=sum(repeats.values()))),
        check=check,
        progress=progress)
    return dict(res, splits={s: len(idx) for s, idx in splits.items()},
                classes=classes, repeated_frames=repeats)
