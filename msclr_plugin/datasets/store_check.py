"""Check a skeleton store clip by clip, and whether its conventions agree.

One implementation for ``tools/data/check_store.py``, the converters (which
run it at the end) and ``MultiSkeletonDataset(validate=True)``:

- the index (schema, labels within ``num_classes``, split indices) and the
  arrays (offsets, clip identity), checked when the store opens
  (:class:`~msclr_plugin.datasets.store.SkeletonStore`), and disjoint
  train/val/test splits;
- every clip of every convention: its recorded CRC, shape, finite values,
  at least one non-zero coordinate (:func:`~.store.check_clip`);
- per pair of conventions, over the clips, whether body 0 is in the same
  frame: centre distance (mean distance of the pelvis and neck roles), up
  direction (pelvis -> neck), left-right axis
  (shoulder line), scale (torso length ratio) and facing (head in front of
  the shoulders), from each layout's roles
  (:func:`~msclr_plugin.datasets.body_frame.body_axes`).
"""
import itertools
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from msclr_plugin.skeletons import SkeletonLayout
from .body_frame import AXIS_ROLES, body_axes
from .store import SkeletonStore, check_clip, is_metric, split_overlaps

# Limits on the median over clips of each agreement (the per-clip value is
# the median over the frames where both conventions hold body 0). An axis
# error gives cosines near 0 or -1; conventions whose pelvis and neck roles
# are defined differently lean apart by up to about 30 degrees (MSR
# Action3D's Kinect v1 hip centre vs COCO's hip midpoint: 0.855). Torso
# lengths of conventions with different pelvis and neck roles differ by up
# to about 1.45 (MSR vs COCO, in small subsets), a unit error by 2.54
# (inches) or more: hence 0.5-2.
THRESHOLDS = dict(up=0.8, lr=0.8, centre=0.15, torso=(0.5, 2.0))
# |facing| below this (torso lengths) says nothing about handedness
FACING_MIN = 0.02
# Least fraction of the decisive clips whose facing agrees: a mirror image
# agrees in about none, a convention whose head carries no facing cue (a
# regressed COCO nose lies in the head's plane) in about half.
FACING_AGREE = 0.25
# What the source options of a converter (common.add_store_args) change
SOURCE_OPTIONS = ('--scale', '--up', '--mirror')

# Per metric: what a failure means, and the fixes (option, how); a hint
# names only the options of the tools that wrote the two conventions
# (``made_by`` in index.json).
_FIXES = dict(
    up=('upside down or tilted', [
        ('--up', "state the source's up axis (--up y-down for image-like "
         'camera frames, --up z-up for z-up worlds)')]),
    lr=('left and right disagree', [
        ('--mirror', 'a mirror image: --mirror'),
        ('--preprocess', 'another horizontal orientation: normalise with '
         '--preprocess aimclr or body')]),
    centre=('different origins', [
        ('--preprocess', 'normalise with --preprocess center, aimclr or '
         'body')]),
    torso=('different units', [
        ('--scale', "state the source's scale (e.g. --scale 0.001 for "
         'millimetres)')]),
    facing=('one convention faces backwards relative to the other', [
        ('--mirror', 'where up and left-right agree, a mirror image: '
         '--mirror')]))


def fix_hint(key: str, made_by: Sequence[Optional[dict]]) -> str:
    """What a failed agreement ``key`` means and how to fix it, naming only
    options of the tools in ``made_by`` (the two conventions' records:
    ``dict(tool=..., options=[...])``, or None when unrecorded)."""
    problem, fixes = _FIXES[key]
    if any(m is None for m in made_by):  # unknown tool: any converter's
        return f'{problem}: ' + '; '.join(how for _, how in fixes) + \
            ' (converter options)'
    tools = {m['tool']: m.get('options', []) for m in made_by}
    found = [f'{how} ({", ".join(t for t, o in tools.items() if opt in o)})'
             for opt, how in fixes if any(opt in o for o in tools.values())]
    if found:
        return f'{problem}: ' + '; '.join(found)
    return (f'{problem}: {" and ".join(tools)} read their sources in fixed '
            'axes and units (check the files and layouts given), or convert '
            'the source with tools/data/arrays_to_store.py, whose '
            f'{", ".join(SOURCE_OPTIONS)} state its axes and units')


def aligned_by_construction(a: str, b: str,
                            records: Optional[Dict[str, dict]]) -> Optional[str]:
    """The convention both ``a`` and ``b`` were computed from by joint maps
    in one frame (``derived_from`` chains of their records), when they also
    have the same scale and normalisation; else None."""
    if not records or a not in records or b not in records:
        return None

    def root(conv):
        seen = set()
        while (records.get(conv) or {}).get('derived_from') and conv not in seen:
            seen.add(conv)
            conv = records[conv]['derived_from']
        return conv

    same = all(records[a].get(k) == records[b].get(k)
               for k in ('scale', 'normalize'))
    return root(a) if same and root(a) == root(b) else None


class StoreCheck:
    """The result of :func:`check_clips` / :func:`check_store`.

    Attributes:
        source (str): Store (or annotation file) checked.
        num_clips (int): Clips checked.
        errors (list[str]): Failures (the check fails when not empty).
        disagreements (list[str]): The errors about the agreement of
            conventions (also in ``errors``).
        notes (list[str]): Facts that do not fail the check.
        bad_clips (dict): ``{position: message}`` of clips failing a
            per-clip check (positions into the checked clips).
        agreement (dict): ``{(conv_a, conv_b): stats}`` with, per metric
            (``up``, ``lr``, ``centre``, ``torso``, ``facing``), ``median``
            over clips (for ``facing``: the fraction of the decisive clips
            that agree), ``worst`` ``[(clip, value)]``, ``beyond`` (clips
            past the threshold) and ``clips`` (clips measured).
    """

    def __init__(self, source: str, num_clips: int,
                 thresholds: Optional[dict] = None) -> None:
        self.source = source
        self.thresholds = dict(THRESHOLDS, **(thresholds or {}))
        self.num_clips = num_clips
        self.errors: List[str] = []
        self.disagreements: List[str] = []
        self.notes: List[str] = []
        self.bad_clips: Dict[int, str] = {}
        self.agreement: Dict[Tuple[str, str], dict] = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def format(self, max_clips: int = 10) -> str:
        """A readable report."""
        lines = [f'store check of {self.source}: {self.num_clips} clips, '
                 f'{"OK" if self.ok else "FAILED"}']
        if self.bad_clips:
            lines.append(f'{len(self.bad_clips)} invalid clips:')
            lines += [f'  {msg}' for msg in list(self.bad_clips.values())[:max_clips]]
            if len(self.bad_clips) > max_clips:
                lines.append(f'  ... {len(self.bad_clips) - max_clips} more')
        for (a, b), stats in self.agreement.items():
            lines.append(f'agreement {a} vs {b} (body 0; per clip the median '
                         'over frames; median over clips, worst clips):')
            for key, label in (('up', 'up (pelvis->neck) cosine'),
                               ('lr', 'left-right (shoulders) cosine'),
                               ('centre', 'pelvis/neck distance (m)'),
                               ('torso', 'torso length ratio'),
                               ('facing', 'facing agreement')):
                if key not in stats:
                    continue
                item = stats[key]
                limit = _limit_text(key, self.thresholds)
                worst = ', '.join(f'{c} {v:.3g}' for c, v in item['worst'])
                lines.append(
                    f'  {label:32s} {item["median"]:8.3f} {limit:14s} '
                    f'{item["beyond"]}/{item["clips"]} clips past the limit'
                    + (f'; worst: {worst}' if worst else ''))
        lines += [f'note: {n}' for n in self.notes]
        lines += [f'ERROR: {e}' for e in self.errors]
        return '\n'.join(lines)


def _limit_text(key: str, thresholds: dict) -> str:
    if key == 'facing':
        return f'(>= {FACING_AGREE})'
    limit = thresholds[key]
    if key == 'torso':
        return f'({limit[0]}-{limit[1]})'
    return f'(<= {limit})' if key == 'centre' else f'(>= {limit})'


def _past(key: str, value: np.ndarray, thresholds: dict) -> np.ndarray:
    limit = thresholds[key]
    if key == 'centre':
        return value > limit
    if key == 'torso':
        return (value < limit[0]) | (value > limit[1])
    return value < limit


def _frame_map(num_a: int, num_b: int) -> np.ndarray:
    """Frame of b matching each frame of a (same time span)."""
    if num_a == num_b:
        return np.arange(num_a)
    return np.round(np.arange(num_a) * (num_b - 1) / max(num_a - 1, 1)).astype(int)


def _finite_median(value: np.ndarray) -> float:
    value = value[np.isfinite(value)]
    return float(np.median(value)) if len(value) else np.nan


def _pair_values(ax_a: dict, ax_b: dict) -> Dict[str, float]:
    """Per-clip agreement values of two conventions' body axes."""
    idx = _frame_map(len(ax_a['torso']), len(ax_b['torso']))
    b = {k: v[idx] for k, v in ax_b.items()}
    with np.errstate(invalid='ignore', divide='ignore'):
        out = dict(
            up=_finite_median((ax_a['up'] * b['up']).sum(-1)),
            lr=_finite_median((ax_a['lr'] * b['lr']).sum(-1)),
            centre=_finite_median(
                (np.linalg.norm(ax_a['pelvis'] - b['pelvis'], axis=-1) +
                 np.linalg.norm(ax_a['neck'] - b['neck'], axis=-1)) / 2),
            torso=_finite_median(ax_a['torso'] / b['torso']))
    fa, fb = _finite_median(ax_a['facing']), _finite_median(b['facing'])
    if abs(fa) >= FACING_MIN and abs(fb) >= FACING_MIN:  # NaN compares False
        out['facing'] = float(np.sign(fa) == np.sign(fb))
    return out


def check_clips(read: Callable[[int, str], np.ndarray],
                clip_names: Sequence[str],
                layouts: Dict[str, SkeletonLayout],
                source: str,
                records: Optional[Dict[str, dict]] = None,
                thresholds: Optional[dict] = None,
                max_worst: int = 3,
                progress=None) -> StoreCheck:
    """Check clips read by ``read(position, convention)``.

    Two conventions computed from one source by joint maps (regressors,
    joint names: ``derived_from`` in their records) with the same scale and
    normalisation are in one frame by construction: their agreement is
    reported, not enforced (the facing cue of a regressed COCO nose, for
    one, is a coin toss).

    Args:
        read (callable): Returns clip ``position`` of a convention as
            ``(M, T, V, C)``; a ``ValueError`` it raises marks the clip bad.
        clip_names (Sequence[str]): Names of the clips, by position.
        layouts (dict): ``{convention: SkeletonLayout}``.
        source (str): Store or file named in messages.
        records (dict, optional): The conventions' ``index.json`` records
            (``coords``: 2 for image keypoints, whose range check is
            unit-free; ``derived_from``, ``scale``, ``normalize``,
            ``made_by``). None: unknown units, nothing derived or recorded.
        thresholds (dict, optional): Overrides of :data:`THRESHOLDS`.
        max_worst (int): Worst clips listed per metric.
        progress (callable, optional): Wraps the clip iterator.

    Returns:
        StoreCheck: per-clip failures are errors; an agreement whose median
        over clips is past its threshold is an error with a hint.
    """
    report = StoreCheck(source, len(clip_names), thresholds)
    thresholds = report.thresholds
    if not len(clip_names):
        report.errors.append(f'{source}: no clips')
        return report
    convs = list(layouts)
    measured = [
        c for c in convs if all(r in layouts[c].roles for r in AXIS_ROLES)
    ]
    for conv in sorted(set(convs) - set(measured)):
        report.notes.append(
            f'convention {conv}: layout {layouts[conv].name} lacks roles of '
            f'{list(AXIS_ROLES)}; its agreement is not measured')
    pairs = list(itertools.combinations(measured, 2))
    values = {pair: [] for pair in pairs}
    positions = range(len(clip_names))
    for pos in (progress(positions) if progress else positions):
        axes = {}
        for conv in convs:
            where = f'{source}: clip {clip_names[pos]}, convention {conv}'
            try:
                kp = check_clip(read(pos, conv), layouts[conv], where,
                                records is not None and
                                is_metric(records.get(conv)))
            except ValueError as err:
                msg = str(err)
                report.bad_clips[pos] = msg if clip_names[pos] in msg \
                    else f'{where}: {msg}'
                break
            if conv in measured:
                axes[conv] = body_axes(
                    kp, layouts[conv], (records or {}).get(conv, {}).get('coords') or 3)
        else:
            for pair in pairs:
                values[pair].append((pos, _pair_values(axes[pair[0]],
                                                        axes[pair[1]])))
    if report.bad_clips:
        report.errors.append(f'{len(report.bad_clips)} invalid clips (first: '
                             f'{next(iter(report.bad_clips.values()))})')
    aligned = {}  # root: conventions aligned by construction
    for pair, rows in values.items():
        stats = {}
        root = aligned_by_construction(*pair, records)
        if root is not None:
            aligned.setdefault(root, set()).update(pair)
        for key in ('up', 'lr', 'centre', 'torso', 'facing'):
            got = [(pos, row[key]) for pos, row in rows
                   if key in row and np.isfinite(row[key])]
            if not got:
                continue
            arr = np.array([v for _, v in got])
            if key == 'facing':
                # fraction of the decisive clips whose facing agrees
                order = np.argsort(arr, kind='stable')
                beyond = int((arr < 1).sum())
                median = float(arr.mean())
            else:
                badness = arr if key == 'centre' else np.abs(
                    np.log(arr)) if key == 'torso' else -arr
                order = np.argsort(-badness, kind='stable')
                beyond = int(_past(key, arr, thresholds).sum())
                median = float(np.median(arr))
            stats[key] = dict(
                median=median,
                clips=len(arr),
                beyond=beyond,
                worst=[(clip_names[got[i][0]], float(arr[i]))
                       for i in order[:max_worst] if key != 'facing' or arr[i] < 1])
            failed = median < FACING_AGREE if key == 'facing' else \
                bool(_past(key, np.array([median]), thresholds)[0])
            if failed and root is None:
                made_by = [(records or {}).get(c, {}).get('made_by')
                           for c in pair]
                report.disagreements.append(
                    f'{source}: {pair[0]} vs {pair[1]}: {key} median '
                    f'{median:.3g} over {len(arr)} clips past '
                    f'{_limit_text(key, thresholds)}: {fix_hint(key, made_by)}')
        report.agreement[pair] = stats
    for root, convs in aligned.items():
        report.notes.append(
            f'{", ".join(c for c in measured if c in convs)}: computed from '
            f'{root} by joint maps with the same scale and normalisation, in '
            'one frame by construction (their agreement is shown, not '
            'enforced)')
    report.errors += report.disagreements
    return report


def check_store(store: Union[str, SkeletonStore],
                conventions: Optional[Sequence[str]] = None,
                clip_ids: Optional[Sequence[int]] = None,
                thresholds: Optional[dict] = None,
                max_worst: int = 3,
                progress=None) -> StoreCheck:
    """Check a store (the index and arrays when it opens, then every clip
    and the agreement of its conventions).

    Args:
        store (str | SkeletonStore): The store or its directory.
        conventions (Sequence[str], optional): Conventions to check (all).
        clip_ids (Sequence[int], optional): Clips to check (all).
        thresholds (dict, optional): Overrides of :data:`THRESHOLDS`.
        max_worst (int): Worst clips listed per metric.
        progress (callable, optional): Wraps the clip iterator.

    Returns:
        StoreCheck: ``errors`` also holds the error of a store that does not
        open (bad schema, labels, splits, offsets, clip identity).
    """
    root = store if isinstance(store, str) else store.root
    if isinstance(store, str):
        try:
            store = SkeletonStore(store, verify=0)
        except (OSError, ValueError, KeyError) as err:
            report = StoreCheck(root, 0)
            report.errors.append(str(err).strip('"\''))
            return report
    convs = list(conventions or store.conventions)
    unknown = [c for c in convs if c not in store.conventions]
    if unknown:
        raise ValueError(f'{root}: no conventions {unknown}; the store has '
                         f'{sorted(store.conventions)}')
    ids = np.arange(len(store)) if clip_ids is None else np.asarray(clip_ids)
    report = check_clips(lambda pos, conv: store.get(int(ids[pos]), conv),
                         [store.clip_names[i] for i in ids],
                         {c: store.layout(c) for c in convs},
                         root,
                         records={c: store.conventions[c] for c in convs},
                         thresholds=thresholds,
                         max_worst=max_worst,
                         progress=progress)
    report.errors += [f'{root}: {msg}' for msg in split_overlaps(
        store.splits, store.clip_names)]
    if not store.reader.has_identity:
        report.notes.append('the store records no clip identity (version 1): '
                            'convert it again to detect swapped clips')
    return report
