"""NTU RGB+D 60/120 raw ``.skeleton`` files -> skeleton store.

File format (text): the frame count; per frame the body count; per body a
line of 10 values (bodyID, clippedEdges, handLeftConfidence, handLeftState,
handRightConfidence, handRightState, isRestricted, leanX, leanY,
trackingState), the joint count, then one line per joint of 12 values
(x y z depthX depthY colorX colorY orientW orientX orientY orientZ
trackingState). Only x, y, z (metres, Kinect camera space) are kept.

Body selection (documented rule): bodies are tracked by bodyID; each body's
motion energy is the sum over x, y, z of the variance of its joints' mean
position over the frames where it appears (0 for a body seen once). The
``max_bodies`` bodies of highest energy are kept (ties: first seen first),
in that order; a kept body absent from a frame is zero-filled there, and
frames holding none of the kept bodies are dropped.
"""
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from msclr_plugin.skeletons import get_layout

from .common import ConversionError, StoreBuilder, aimclr_preprocess

LAYOUT = 'kinectv2_25'
CLIP_RE = re.compile(r'^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})$')

NTU60_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34,
                    35, 38)
NTU60_XVIEW_TRAIN = (2, 3)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN + (45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58,
                                        59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89,
                                        91, 92, 93, 94, 95, 97, 98, 100, 103)
NUM_CLASSES = {'ntu60': 60, 'ntu120': 120}
# Ranges of the name fields in each release (setups, cameras, subjects,
# replications): a name outside them is not a clip of that benchmark.
FIELD_RANGES = {
    'ntu60': dict(setup=17, camera=3, subject=40, replication=2),
    'ntu120': dict(setup=32, camera=3, subject=106, replication=2),
}


def parse_clip_name(name: str) -> Dict[str, int]:
    """``'S001C002P003R002A013'`` -> setup, camera, subject, replication,
    action (all 1-based ints)."""
    match = CLIP_RE.match(name)
    if match is None:
        raise ConversionError(f'{name}: not an NTU clip name '
                              '(SsssCcccPpppRrrrAaaa)')
    keys = ('setup', 'camera', 'subject', 'replication', 'action')
    return dict(zip(keys, (int(g) for g in match.groups())))


def split_membership(name: str, benchmark: str) -> Dict[str, bool]:
    """Whether a clip is in the training part of each official benchmark.

    Returns:
        dict: ``{'xsub': bool, 'xview': bool}`` for NTU-60,
        ``{'xsub': bool, 'xset': bool}`` for NTU-120.
    """
    info = parse_clip_name(name)
    if benchmark == 'ntu60':
        return dict(
            xsub=info['subject'] in NTU60_XSUB_TRAIN,
            xview=info['camera'] in NTU60_XVIEW_TRAIN)
    if benchmark == 'ntu120':
        return dict(
            xsub=info['subject'] in NTU120_XSUB_TRAIN, xset=info['setup'] % 2 == 0)
    raise ValueError(f'unknown benchmark {benchmark!r} (ntu60 | ntu120)')


def read_skeleton_file(path: str) -> Dict[str, np.ndarray]:
    """Parse one raw file into per-body joint tracks.

    Args:
        path (str): A ``.skeleton`` file.

    Returns:
        dict: ``{bodyID: (T, 25, 3) float32}`` with NaN in frames where the
        body is absent, in order of first appearance.

    Raises:
        ConversionError: truncated or corrupt file, wrong joint count,
        non-finite values (message names the file).
    """
    num_joints = get_layout(LAYOUT).num_joints
    try:
        with open(path) as f:
            tokens = f.read().split()
    except (OSError, UnicodeDecodeError) as err:
        raise ConversionError(f'{path}: cannot read ({err})') from None
    pos = 0

    def take(n: int) -> List[str]:
        nonlocal pos
        if pos + n > len(tokens):
            raise ConversionError(f'{path}: truncated file (wanted {n} more '
                                  f'values at token {pos})')
        out = tokens[pos:pos + n]
        pos += n
        return out

    def take_int(what: str) -> int:
        tok = take(1)[0]
        try:
            return int(tok)
        except ValueError:
            raise ConversionError(f'{path}: expected {what} at token '
                                  f'{pos - 1}, got {tok!r}') from None

    num_frames = take_int('the frame count')
    tracks: Dict[str, np.ndarray] = {}
    for t in range(num_frames):
        for _ in range(take_int(f'the body count of frame {t}')):
            body_id = take(10)[0]
            joints = take_int(f'the joint count of frame {t}')
            if joints != num_joints:
                raise ConversionError(f'{path}: frame {t} body {body_id} has '
                                      f'{joints} joints, expected '
                                      f'{num_joints}')
            try:
                vals = np.asarray(take(joints * 12), dtype=np.float64)
            except ValueError as err:
                raise ConversionError(f'{path}: frame {t}: {err}') from None
            xyz = vals.reshape(joints, 12)[:, :3]
            if not np.isfinite(xyz).all():
                raise ConversionError(f'{path}: frame {t} body {body_id}: '
                                      'NaN or infinite coordinates')
            if body_id not in tracks:
                tracks[body_id] = np.full((num_frames, joints, 3), np.nan, np.float32)
            tracks[body_id][t] = xyz
    if pos != len(tokens):
        raise ConversionError(f'{path}: {len(tokens) - pos} trailing values '
                              f'after {num_frames} frames')
    return tracks


def motion_energy(track: np.ndarray) -> float:
    """Sum over x, y, z of the variance of the body's mean joint position
    over the frames where it is present (NaN marks absence)."""
    seen = np.isfinite(track[:, 0, 0])
    if seen.sum() < 2:
        return 0.0
    return float(track[seen].mean(axis=1).var(axis=0).sum())


def kept_bodies(tracks: Dict[str, np.ndarray],
                max_bodies: int = 2) -> Tuple[np.ndarray, np.ndarray]:
    """The ``max_bodies`` most energetic bodies over every frame of the file.

    Returns:
        tuple: ``(max_bodies, T, 25, 3)`` float32 zero-filled where a kept
        body is absent, and ``(T,)`` whether any kept body is present (the
        frames :func:`select_bodies` keeps). The reference for matching
        people estimated from the clip's video (one video frame per file
        frame).
    """
    ids = sorted(tracks, key=lambda b: -motion_energy(tracks[b]))
    kept = [tracks[b] for b in ids[:max_bodies]]
    num_frames = len(kept[0]) if kept else 0
    out = np.zeros((max_bodies, num_frames, get_layout(LAYOUT).num_joints, 3),
                   np.float32)
    if kept:
        stack = np.stack(kept)  # (m, T, V, 3), NaN where absent
        out[:len(kept)] = np.nan_to_num(stack, nan=0.0)
        return out, np.isfinite(stack[:, :, 0, 0]).any(axis=0)
    return out, np.zeros(0, bool)


def select_bodies(tracks: Dict[str, np.ndarray], max_bodies: int = 2) -> np.ndarray:
    """Keep the ``max_bodies`` most energetic bodies (module docstring).

    Returns:
        np.ndarray: ``(max_bodies, T', 25, 3)`` float32, zero-filled where a
        kept body is absent; frames with no kept body are dropped, so ``T'``
        may be 0.
    """
    kp, present = kept_bodies(tracks, max_bodies)
    return kp[:, present]


def load_clip(path: str, max_bodies: int = 2, preprocess: str = 'none') -> np.ndarray:
    """Read, select bodies and optionally normalise one clip.

    Args:
        path (str): A ``.skeleton`` file.
        max_bodies (int): Bodies kept (M). Defaults to 2.
        preprocess (str): ``'none'`` or ``'aimclr'`` (see
            :func:`~msclr_plugin.data_prep.common.aimclr_preprocess`;
            :func:`convert_ntu` takes every normalisation preset).

    Returns:
        np.ndarray: ``(max_bodies, T, 25, 3)`` float32.

    Raises:
        ConversionError: corrupt file, or no frame with a body.
    """
    kp = select_bodies(read_skeleton_file(path), max_bodies)
    if kp.shape[1] == 0:
        raise ConversionError(f'{path}: no body in any frame')
    if preprocess == 'aimclr':
        kp = aimclr_preprocess(kp, LAYOUT)
    elif preprocess != 'none':
        raise ValueError(f'unknown preprocess {preprocess!r} (none | aimclr)')
    return kp


def read_ignore_list(path: Optional[str]) -> set:
    """Clip names (one per line, ``.skeleton`` optional, ``#`` comments)."""
    if not path:
        return set()
    with open(path) as f:
        names = (line.split('#')[0].strip() for line in f)
        return {
            n[:-len('.skeleton')] if n.endswith('.skeleton') else n
            for n in names if n
        }


def list_clips(skeletons_dir: str) -> List[str]:
    """Sorted clip names of the ``.skeleton`` files in a directory."""
    if not osp.isdir(skeletons_dir):
        raise FileNotFoundError(f'{skeletons_dir}: no such directory')
    return sorted(f[:-len('.skeleton')] for f in os.listdir(skeletons_dir)
                  if f.endswith('.skeleton'))


def convert_ntu(skeletons_dir: str,
                out: str,
                benchmark: str = 'ntu60',
                preprocess: str = 'none',
                max_bodies: int = 2,
                ignore: Iterable[str] = (),
                max_clips: Optional[int] = None,
                clips: Optional[Sequence[str]] = None,
                check: bool = True,
                progress=None) -> Dict:
    """Convert a directory of NTU ``.skeleton`` files into a store.

    Clips are skipped and reported (``index.json`` ``skipped``) when listed
    in ``ignore``, outside the benchmark's classes (NTU-120 actions in an
    NTU-60 conversion, action 0), with a setup, camera, subject or
    replication outside the benchmark's ranges (:data:`FIELD_RANGES`, so no
    clip lands in a split by accident), corrupt, all zeros or without any
    body. Kinect camera space is the store frame: no axis changes.

    Args:
        skeletons_dir (str): Directory of ``SsssCcccPpppRrrrAaaa.skeleton``.
        out (str): Output store directory.
        benchmark (str): ``'ntu60'`` (splits ``xsub_*``, ``xview_*``) or
            ``'ntu120'`` (``xsub_*``, ``xset_*``); ``*`` is train / val.
        preprocess (str | dict): Body normalisation: ``'none'``,
            ``'center'``, ``'aimclr'``, ``'body'`` or a dict
            (:func:`~msclr_plugin.datasets.body_frame.normalize_body`).
        max_bodies (int): Bodies per clip. Defaults to 2.
        ignore (Iterable[str]): Clip names to leave out (e.g. NTU's list of
            samples with missing skeletons).
        max_clips (int, optional): Convert only the first N clips (tests).
        clips (Sequence[str], optional): Explicit clip names to convert.
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the clip iterator (tqdm).

    Returns:
        dict: ``kept``, ``skipped`` (a :class:`SkipReport`), ``index``,
        ``check`` (the store check).
    """
    if benchmark not in NUM_CLASSES:
        raise ValueError(f'unknown benchmark {benchmark!r} (ntu60 | ntu120)')
    names = list(clips) if clips is not None else list_clips(skeletons_dir)
    if max_clips is not None:
        names = names[:max_clips]
    ignore = set(ignore)
    builder = StoreBuilder(
        out, {LAYOUT: LAYOUT},
        normalize=preprocess,
        classes=[f'A{a:03d}' for a in range(1, NUM_CLASSES[benchmark] + 1)],
        tool='tools/data/ntu_to_store.py')
    parts = ('xsub', 'xview') if benchmark == 'ntu60' else ('xsub', 'xset')
    splits = {f'{p}_{s}': [] for p in parts for s in ('train', 'val')}
    for name in (progress(names) if progress else names):
        if name in ignore:
            builder.skip(name, 'in the ignore list', 'ignore list')
            continue
        try:
            info = parse_clip_name(name)
        except ConversionError as err:
            builder.skip(name, str(err), 'bad clip name')
            continue
        if not 1 <= info['action'] <= NUM_CLASSES[benchmark]:
            builder.skip(name, f'action {info["action"]} not in {benchmark}',
                         f'not in {benchmark}')
            continue
        outside = [
            f'{field} {info[field]}'
            for field, top in FIELD_RANGES[benchmark].items()
            if not 1 <= info[field] <= top
        ]
        if outside:
            builder.skip(name, f'{", ".join(outside)} outside {benchmark}\'s '
                         f'ranges {FIELD_RANGES[benchmark]}', f'unknown '
                         f'{outside[0].split()[0]}')
            continue
        path = osp.join(skeletons_dir, name + '.skeleton')
        try:
            kp = load_clip(path, max_bodies)
        except ConversionError as err:
            kind = 'no body' if 'no body' in str(err) else 'corrupt file'
            builder.skip(name, str(err), kind)
            continue
        idx = builder.add(name, info['action'] - 1, {LAYOUT: kp}, path)
        if idx is None:
            continue
        for part, train in split_membership(name, benchmark).items():
            splits[f'{part}_{"train" if train else "val"}'].append(idx)
    return builder.finish(
        splits,
        meta=dict(
            source=f'NTU RGB+D ({benchmark}) raw skeletons',
            preprocess=preprocess,
            max_bodies=max_bodies,
            body_selection='top motion energy (var of xyz)'),
        check=check)
