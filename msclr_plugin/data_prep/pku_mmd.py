"""PKU-MMD Phase I / II skeleton text files -> skeleton store.

Format (the dataset's README): one skeleton file ``<video>.txt`` per video
(``0002-L`` in Phase I, ``A01N01-L`` in Phase II; the letter is the view),
one line per frame with 150 values: 2 bodies x 25 Kinect v2 joints x
(x, y, z), metres, Kinect camera space; a second body that is not there is
all zeros. One label file ``<video>.txt`` per video, one action per line:
``label,start,end,confidence`` (label 1-based, 51 action classes).

Clips are the labelled intervals: rows ``start`` to ``end - 1`` of the
skeleton file (0-based, end exclusive, as the pku_gendata.py scripts of the
AimCLR family slice them), both bodies kept in their file slots. Labels are
``label - 1``. Skipped and counted: intervals that are empty or begin past
the file's end, labels outside 1..51, all-zero clips, corrupt files; an
interval that runs past the end is cut at the end (counted in ``meta``).

Splits: the official lists ``cross-subject.txt`` / ``cross-view.txt``
(Phase II: ``cross_subject_v2.txt`` / ``cross_view_v2.txt``) come with the
dataset, not with this project: pass them. Each holds a ``Training videos:``
line followed by comma-separated video names, then a ``Validataion
videos:`` line (sic) followed by names. The ``<name>_train`` /
``<name>_val`` splits are the clips of those videos.
"""
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from msclr_plugin.skeletons import get_layout

from .attach import load_array
from .common import ConversionError, StoreBuilder, check_keypoint

LAYOUT = 'kinectv2_25'
NUM_BODIES = 2
NUM_CLASSES = 51
_HEADER = re.compile(r'^\s*(train|valid)\w*\s+videos?\s*:', re.I)


def _lines(path: str) -> Iterator[Tuple[int, str]]:
    """``(line number, line)`` of the non-blank lines of a text file.

    Raises:
        ConversionError: the file cannot be read.
    """
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ConversionError(f'{path}: cannot read ({err})') from None
    return ((no, line) for no, line in enumerate(lines, 1) if line.strip())


def read_skeleton_txt(path: str) -> np.ndarray:
    """One skeleton file as ``(T, 2, 25, 3)`` float32.

    Raises:
        ConversionError: unreadable file, a line without 150 numbers, NaN.
    """
    num = NUM_BODIES * get_layout(LAYOUT).num_joints * 3
    rows = []
    for line_no, line in _lines(path):
        values = line.split()
        if len(values) != num:
            raise ConversionError(f'{path}: line {line_no} has {len(values)} '
                                  f'values, expected {num}')
        try:
            rows.append(np.array(values, dtype=np.float32))
        except ValueError as err:
            raise ConversionError(f'{path}: line {line_no}: {err}') from None
    if not rows:
        raise ConversionError(f'{path}: no frame')
    kp = np.stack(rows).reshape(len(rows), NUM_BODIES, -1, 3)
    if not np.isfinite(kp).all():
        raise ConversionError(f'{path}: NaN or infinite coordinates')
    return kp


def read_labels(path: str) -> List[Tuple[int, int, int, float]]:
    """``[(label, start, end, confidence)]`` of one label file.

    Raises:
        ConversionError: unreadable file, or a line that is not four numbers.
    """
    out = []
    for line_no, line in _lines(path):
        parts = [p.strip() for p in line.split(',')]
        try:
            if len(parts) != 4:
                raise ValueError
            label, start, end = (int(float(p)) for p in parts[:3])
            out.append((label, start, end, float(parts[3])))
        except ValueError:
            raise ConversionError(f'{path}: line {line_no} is not "label,start,'
                                  f'end,confidence": {line.strip()!r}') from None
    return out


def read_split_file(path: str) -> Dict[str, List[str]]:
    """An official split list: ``{'train': [video, ...], 'val': [...]}``.

    Raises:
        ValueError: no ``Training videos:`` / ``Validataion videos:`` header,
        or a video in both parts (the message names the file).
    """
    parts: Dict[str, List[str]] = {}
    current = None
    with open(path) as f:
        for line in f:
            header = _HEADER.match(line)
            if header:
                current = 'train' if header.group(1).lower() == 'train' else 'val'
                parts.setdefault(current, [])
                line = line[header.end():]
            if current is None:
                if line.strip():
                    raise ValueError(f'{path}: names before a "Training videos:" '
                                     'or "Validataion videos:" line')
                continue
            parts[current] += [n.strip() for n in re.split(r'[,\s]+', line)
                               if n.strip()]
    if set(parts) != {'train', 'val'}:
        raise ValueError(f'{path}: expected a "Training videos:" and a '
                         f'"Validataion videos:" part, found {sorted(parts)}')
    both = set(parts['train']) & set(parts['val'])
    if both:
        raise ValueError(f'{path}: videos in both parts: {sorted(both)[:5]}')
    return parts


def list_videos(skeletons_dir: str) -> List[str]:
    """Sorted video names of the ``.txt`` files in a directory."""
    if not osp.isdir(skeletons_dir):
        raise FileNotFoundError(f'{skeletons_dir}: no such directory')
    return sorted(f[:-4] for f in os.listdir(skeletons_dir) if f.endswith('.txt'))


def convert_pku_mmd(skeletons_dir: str,
                    labels_dir: str,
                    out: str,
                    split_files: Optional[Dict[str, str]] = None,
                    estimated: Optional[Dict[str, dict]] = None,
                    videos: Optional[Sequence[str]] = None,
                    preprocess: str = 'none',
                    check: bool = True,
                    progress=None) -> Dict:
    """Convert PKU-MMD skeleton and label files into a store.

    Args:
        skeletons_dir (str): Directory of ``<video>.txt`` skeleton files.
        labels_dir (str): Directory of ``<video>.txt`` label files.
        out (str): Output store directory.
        split_files (dict, optional): ``{split name: official list}``, e.g.
            ``{'xsub': 'cross-subject.txt', 'xview': 'cross-view.txt'}``.
        estimated (dict, optional): More conventions estimated from the RGB
            videos (tools/data/video_to_skeletons.py, one file per video with
            the video's frames): ``{name: dict(files_dir=..., layout=name,
            pattern='{video}.npz', key=name)}``; each clip takes the same
            interval. A video whose file is missing or has another frame
            count loses its clips (counted).
        videos (Sequence[str], optional): Convert only these videos.
        preprocess (str | dict): Body normalisation of every convention
            (:class:`~msclr_plugin.data_prep.common.StoreBuilder`). Defaults
            to ``'none'``: camera space, as the NTU configs expect (they
            normalise online).
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the video iterator (tqdm).

    Returns:
        dict: ``kept``, ``skipped`` (a :class:`SkipReport`), ``index``,
        ``check``.
    """
    names = list(videos) if videos is not None else list_videos(skeletons_dir)
    members = {name: read_split_file(path)
               for name, path in (split_files or {}).items()}
    extra = {}
    for conv, spec in (estimated or {}).items():
        extra[conv] = dict(layout=spec.get('layout', conv),
                           pattern=spec.get('pattern', '{video}.npz'),
                           key=spec.get('key', conv), files_dir=spec['files_dir'])
    builder = StoreBuilder(
        out, {LAYOUT: LAYOUT, **{c: s['layout'] for c, s in extra.items()}},
        normalize=preprocess,
        classes=[f'A{a:02d}' for a in range(1, NUM_CLASSES + 1)],
        tool='tools/data/pku_mmd_to_store.py')
    report = builder.report
    splits = {f'{s}_{p}': [] for s in members for p in ('train', 'val')}
    truncated, outside = [], {s: 0 for s in members}
    for video in (progress(names) if progress else names):
        label_path = osp.join(labels_dir, video + '.txt')
        if not osp.isfile(label_path):
            report.add(video, f'no label file {label_path}', 'no label file')
            continue
        try:
            seq = read_skeleton_txt(osp.join(skeletons_dir, video + '.txt'))
            actions = read_labels(label_path)
        except ConversionError as err:
            report.add(video, str(err), 'corrupt file')
            continue
        try:
            others = {c: _estimated(s, video, len(seq)) for c, s in extra.items()}
        except ConversionError as err:
            report.add(video, str(err), 'bad estimated file')
            continue
        for k, (label, start, end, _) in enumerate(actions):
            clip = f'{video}_{k:02d}'
            where = f'{label_path} line {k + 1} (clip {clip})'
            if not 1 <= label <= NUM_CLASSES:
                report.add(clip, f'{where}: label {label} outside 1..{NUM_CLASSES}',
                           'label out of range')
                continue
            if start < 0 or end <= start or start >= len(seq):
                report.add(clip, f'{where}: interval {start}..{end} of a '
                           f'{len(seq)}-frame file', 'empty interval')
                continue
            if end > len(seq):
                truncated.append(clip)
            kp = seq[start:end].transpose(1, 0, 2, 3)
            idx = builder.add(clip, label - 1, {
                LAYOUT: kp, **{c: a[:, start:end] for c, a in others.items()}},
                source=where)
            if idx is None:
                continue
            for split, parts in members.items():
                part = 'train' if video in parts['train'] else \
                    'val' if video in parts['val'] else None
                if part is None:
                    outside[split] += 1
                else:
                    splits[f'{split}_{part}'].append(idx)
    return builder.finish(
        splits=splits,
        meta=dict(
            source='PKU-MMD skeleton and label files',
            interval='rows start..end-1 of the skeleton file',
            truncated=truncated,
            not_in_split=outside,
            split_files=dict(split_files or {}),
            estimated={c: s['files_dir'] for c, s in extra.items()}),
        check=check)


def _estimated(spec: dict, video: str, num_frames: int) -> np.ndarray:
    """A per-video estimated convention, ``(M, T, V, C)`` with the skeleton
    file's frame count."""
    path = osp.join(spec['files_dir'], spec['pattern'].format(video=video))
    if not osp.isfile(path):
        raise ConversionError(f'{path}: no file (video {video})')
    kp = check_keypoint(load_array(path, spec['key']), spec['layout'],
                        f'{path} (video {video})')
    if kp.shape[1] != num_frames:
        raise ConversionError(f'{path}: {kp.shape[1]} frames, the skeleton file '
                              f'of video {video} has {num_frames}')
    return kp
