"""A table of clips from per-sequence interval files.

Several datasets label long recordings with one small text file per
recording, a line per action: its label and first / last frame (PKU-MMD's
``label,start,end,confidence``, OAD, UTKinect-style lists). This module
turns such files into the clip table of ``tools/data/arrays_to_store.py``
(:func:`~msclr_plugin.data_prep.arrays.read_clip_table`): one row per
interval with ``clip``, ``label``, ``start``, ``end`` and the fields named
in the files' name pattern (``subject``, ``take``, ``file``, ...), which the
recordings' file name pattern and ``--train-subjects`` then use.
"""
import argparse
import csv
import glob
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

DEFAULT_COLUMNS = 'label start end'
DEFAULT_CLIP = '{stem}_{n}'
_FIELD = re.compile(r'\{(\w+)\}')


def pattern_regex(pattern: str) -> re.Pattern:
    """``'labels/s{subject}_e{take}.txt'`` as a regex with one named group
    per field (each field a non-empty run without a path separator)."""
    parts, pos, seen = [], 0, set()
    for match in _FIELD.finditer(pattern):
        name = match.group(1)
        parts.append(re.escape(pattern[pos:match.start()]))
        parts.append(f'(?P={name})' if name in seen else fr'(?P<{name}>[^/\\]+?)')
        seen.add(name)
        pos = match.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile(''.join(parts) + '$')


def _split(line: str, delimiter: Optional[str]) -> List[str]:
    if delimiter is None:
        return [v for v in re.split(r'[\s,;:]+', line.strip()) if v]
    return [v.strip() for v in line.strip().split(delimiter)]


def _frame(value: str) -> Optional[int]:
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number == int(number) else None


def read_interval_file(path: str, columns: Sequence[str],
                       delimiter: Optional[str] = None,
                       offset: int = 0) -> List[dict]:
    """The intervals of one file: ``{column: value}`` per line, ``start``
    and ``end`` as integers (plus ``offset``). Blank lines and lines
    starting with ``#`` are skipped; so is a first line whose start or end
    is not a number (a header).

    Raises:
        ValueError: a line with another number of values, frames that are
            not integers, or start after end; the message names the file
            and the line.
    """
    rows, first = [], True
    with open(path) as f:
        lines = f.read().splitlines()
    for num, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        header, first = first, False
        values = _split(line, delimiter)
        where = f'{path}, line {num}'
        if len(values) != len(columns):
            raise ValueError(
                f'{where}: {len(values)} values {values} for the columns '
                f'{" ".join(columns)} (set the interval columns, and the '
                'delimiter for labels with spaces)')
        row = {c: v for c, v in zip(columns, values) if c != '_'}
        start, end = _frame(row['start']), _frame(row['end'])
        if start is None or end is None:
            if header:
                continue
            raise ValueError(f'{where}: start {row["start"]!r} / end '
                             f'{row["end"]!r} are not frame numbers')
        if start > end:
            raise ValueError(f'{where}: start {start} > end {end}')
        row['start'], row['end'] = start + offset, end + offset
        row['where'] = where
        rows.append(row)
    return rows


def read_intervals(pattern: str,
                   columns: str = DEFAULT_COLUMNS,
                   delimiter: Optional[str] = None,
                   offset: int = 0,
                   clip: str = DEFAULT_CLIP) -> List[Dict[str, str]]:
    """Rows of a clip table from every interval file matching ``pattern``.

    Args:
        pattern (str): Path of the interval files with ``{field}``
            placeholders, e.g. ``'labels/{file}.txt'`` or
            ``'raw/s{subject}_e{take}_labels.txt'``; each field's value is
            read from the file name and becomes a column of every row of
            that file.
        columns (str): The values of a line, in order: ``label``, ``start``,
            ``end`` (required; inclusive frame numbers, in the numbering of
            the recordings), ``_`` to ignore a value, any other name to keep
            it as a column. Defaults to ``'label start end'``.
        delimiter (str, optional): Between the values of a line; None:
            whitespace, commas, semicolons and colons (``walk: 252 390``).
        offset (int): Added to start and end (-1: 1-based intervals of
            0-based frame indices).
        clip (str): Clip name, formatted with the row's fields, ``stem``
            (the file name without extension) and ``n`` (1-based position of
            the interval in its file). Defaults to ``'{stem}_{n}'``.

    Returns:
        list[dict]: Rows with ``clip``, the file name fields and the line's
        columns, files in sorted order.

    Raises:
        ValueError: no file matches, a file without intervals, missing
            columns, a clip name given twice; messages name the file.
    """
    names = columns.replace(',', ' ').split()
    missing = [c for c in ('label', 'start', 'end') if c not in names]
    if missing:
        raise ValueError(f'interval columns {columns!r}: no '
                         f'{", ".join(missing)} (e.g. "label start end _")')
    regex = pattern_regex(pattern.replace(os.sep, '/'))
    paths = sorted(glob.glob(_FIELD.sub('*', pattern)))
    if not paths:
        raise ValueError(f'no interval file matches {pattern!r}')
    rows, seen = [], {}
    for path in paths:
        match = regex.search(path.replace(os.sep, '/'))
        if match is None:
            continue  # matched the glob, not the fields' pattern
        fields = match.groupdict()
        found = read_interval_file(path, names, delimiter, offset)
        if not found:
            raise ValueError(f'{path}: no intervals')
        stem = osp.splitext(osp.basename(path))[0]
        for n, row in enumerate(found, 1):
            where = row.pop('where')
            row = dict(fields, **row)
            row['clip'] = clip.format(stem=stem, n=n, **row)
            if row['clip'] in seen:
                raise ValueError(f'{where}: clip name {row["clip"]!r} also '
                                 f'made by {seen[row["clip"]]} (clip format '
                                 f'{clip!r})')
            seen[row['clip']] = where
            rows.append(row)
    if not rows:
        raise ValueError(f'no interval file name fits {pattern!r}')
    return rows


def write_clip_table(rows: List[dict], path: str) -> str:
    """Write rows as a ``.csv`` clip table (``clip`` first), return ``path``."""
    fields = ['clip'] + [k for k in dict.fromkeys(k for r in rows for k in r)
                         if k != 'clip']
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def add_interval_args(parser: argparse.ArgumentParser) -> None:
    """``--intervals`` and its options (the other way to give the clips)."""
    parser.add_argument(
        '--intervals',
        help="interval files instead of --table, e.g. 'labels/s{subject}_"
        "e{take}.txt': one file per recording, a line per clip (label, first "
        'and last frame); the {fields} of the file names become table '
        'columns; the table is written to <out>/clips.csv')
    parser.add_argument(
        '--interval-columns', default=DEFAULT_COLUMNS,
        help='values of an interval line: label, start, end, "_" (ignored) '
        'or other names (kept). Default: "label start end"')
    parser.add_argument(
        '--interval-delimiter',
        help='between the values of a line (default: whitespace, ",", ";", '
        '":")')
    parser.add_argument(
        '--interval-offset', type=int, default=0,
        help='added to start and end (-1: 1-based frames of 0-based arrays)')
    parser.add_argument(
        '--clip-name', default=DEFAULT_CLIP,
        help='clip names from the fields, {stem} (interval file name) and '
        '{n} (position in it). Default: "{stem}_{n}"')


def table_from_args(args: argparse.Namespace) -> str:
    """The clip table of :func:`add_interval_args`' options: ``args.table``,
    or the table of ``args.intervals`` written to ``<args.out>/clips.csv``."""
    if (args.table is None) == (args.intervals is None):
        raise SystemExit('error: give the clips with either --table or '
                         '--intervals')
    if args.table is not None:
        return args.table
    rows = read_intervals(args.intervals, args.interval_columns,
                          args.interval_delimiter, args.interval_offset,
                          args.clip_name)
    return write_clip_table(rows, osp.join(args.out, 'clips.csv'))
