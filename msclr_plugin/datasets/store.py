"""The skeleton store: multi-convention clips on disk, read in place.

Format (docs/datasets.md): a directory with ``index.json`` (names, labels,
splits, conventions with their full layouts; plain JSON, so loading it runs
no code) and, per convention, ``<name>.npy`` holding every clip's frames
concatenated, ``(total_frames, M, V, C)`` float32, ``<name>_offsets.npy``
(int64, ``N + 1``) and ``<name>_clips.npy``, the clip identity of that
convention: frames, source frames and a CRC-32 of clip name and bytes per
clip. Arrays are opened with ``mmap_mode='r'`` (header, dtype and size
checks; no data is read) and clips are read with positioned reads
(``preadv``, POSIX): dataloader workers share the page cache instead of
copying the data, and, unlike reads through the mapping, a read adds no file
pages to the reader's RSS (a fault on a mapping maps the whole large page
cache folio around it, so mapped reads over an epoch would make every
worker's RSS the size of the store).

Integrity: the first read of a clip in a process checks its CRC, so a clip
of one convention that is not the one its name says (shifted offsets, clips swapped or
duplicated within a convention, a convention's files copied from another
store) raises an error naming store, convention and clip instead of
training on a wrong pair. Opening a store checks the index's schema, labels
and splits, the offsets against the recorded frame counts, and the CRCs of
up to :data:`OPEN_SAMPLE` clips per convention; :func:`check_store`
(``msclr_plugin.datasets.store_check``) checks every clip.
"""
import json
import os
import os.path as osp
import shutil
import zlib
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log

from msclr_plugin.skeletons import SkeletonLayout, get_layout

FORMAT = 'msclr-skeleton-store'
VERSION = 2
READABLE_VERSIONS = (1, 2)
# clips per convention whose CRC is checked when a store opens
OPEN_SAMPLE = 16
CLIP_DTYPE = np.dtype([('frames', '<i8'), ('source_frames', '<i8'),
                       ('crc32', '<u4')])
_SPLIT_PARTS = ('train', 'val', 'test')


class InvalidClipError(ValueError):
    """A clip that cannot be stored as given (nothing of it was written);
    the message names store or file, clip and convention.

    Args:
        message (str): The message.
        kind (str): Short reason, the key of converters' skip counts.
    """

    def __init__(self, message: str, kind: str = 'invalid clip') -> None:
        super().__init__(message)
        self.kind = kind


# Plausible range of a body. In metres (store coordinates): no coordinate
# beyond MAX_COORD of the origin, no joint farther than MAX_REACH from its
# body's centre (the mean of its joints), no bone longer than MAX_BONE (the
# longest human bone is about 0.5 m; tracking glitches stay within a few
# metres). In unknown units (pixels, a source before its scale): no
# coordinate beyond MAX_RAW and no bone longer than BONE_RATIO times the
# clip's median bone. Zero joints (padding, undetected) are left out.
MAX_COORD, MAX_REACH, MAX_BONE = 1e3, 50.0, 10.0
MAX_RAW, BONE_RATIO = 1e6, 50.0


def implausible(kp: np.ndarray, layout: SkeletonLayout, metric: bool = True,
                scale: float = 1.0) -> Optional[str]:
    """Why the finite clip ``kp`` ``(M, T, V, C)`` (times ``scale``) is no
    body (a coordinate, reach or bone past the limits above, naming person,
    frame and joint), or None.

    Cheap for bodies (it runs on every item a dataset loads): when no
    coordinate of a joint lies farther than ``MAX_BONE / (2 sqrt 3)`` from
    the mean of its body's joints (per person and frame), no bone and no
    reach can pass the limits (about 0.2 ms for a 2-body 300-frame clip).
    """
    xyz = kp[..., :3]
    names = layout.joint_names
    scale = abs(float(scale))
    limit = MAX_COORD if metric else MAX_RAW
    if float(np.abs(xyz).max()) * scale > limit:
        far = np.abs(xyz).max(-1) * scale
        m, t, v = np.unravel_index(far.argmax(), far.shape)
        return (f'joint {names[v]} of person {m} at frame {t} has a '
                f'coordinate of {far[m, t, v]:.3g} (beyond {limit:g}'
                f'{" m" if metric else ""})')
    if metric:
        # mean over joints as a product (a reduction over the joint axis
        # of a (..., V, 3) array is several times slower)
        num, chans = len(names), xyz.shape[-1]
        flat = xyz.reshape(-1, num * chans)
        mean = flat @ np.tile(np.eye(chans, dtype=flat.dtype), (num, 1)) / num
        spread = np.abs(flat.reshape(-1, num, chans) - mean[:, None]).max()
        if float(spread) * scale <= MAX_BONE / (2 * np.sqrt(3)):
            return None
    xyz = xyz.astype(np.float64) * scale
    present = xyz.any(-1)
    if metric:
        count = present.sum(-1, keepdims=True)
        centre = xyz.sum(-2, keepdims=True) / np.maximum(count, 1)[..., None]
        reach = np.where(present, np.linalg.norm(xyz - centre, axis=-1), 0)
        if reach.max() > MAX_REACH:
            m, t, v = np.unravel_index(reach.argmax(), reach.shape)
            return (f'joint {names[v]} of person {m} at frame {t} lies '
                    f'{reach[m, t, v]:.3g} m from the body centre (beyond '
                    f'{MAX_REACH:g} m)')
    if not layout.edges:
        return None
    a, b = np.asarray(layout.edges).T
    both = present[..., a] & present[..., b]
    bone = np.where(both, np.linalg.norm(xyz[..., a, :] - xyz[..., b, :],
                                         axis=-1), 0)
    if metric:
        limit, unit = MAX_BONE, ' m'
    else:
        limit = BONE_RATIO * np.median(bone[both]) if both.any() else 0
        unit = f' ({BONE_RATIO:g} x the median bone)'
    if limit > 0 and bone.max() > limit:
        m, t, e = np.unravel_index(bone.argmax(), bone.shape)
        return (f'bone {names[a[e]]}-{names[b[e]]} of person {m} at frame '
                f'{t} is {bone[m, t, e]:.3g} long (beyond {limit:.3g}{unit}): '
                'no body')
    return None


def check_clip(kp: np.ndarray, layout: Union[str, dict, SkeletonLayout],
               where: str, metric: bool = True,
               scale: float = 1.0) -> np.ndarray:
    """Check one clip of one convention; return it as float32.

    The one per-clip check of the project: the writer, the converters, the
    dataset and the store checker all call it.

    Args:
        kp (np.ndarray): Keypoints ``(M, T, V, C)``.
        layout (str | dict | SkeletonLayout): The convention of ``kp``.
        where (str): Store or file, clip and convention, for messages.
        metric (bool): The coordinates are metres (a store's 3D
            conventions); False for unknown units (pixels, a source before
            its scale): see :func:`implausible`.
        scale (float): What a reader multiplies ``kp`` by (a store
            convention's ``scale``), for the range check.

    Raises:
        InvalidClipError: wrong rank or joint count, zero frames, NaN/inf,
        every coordinate zero, coordinates out of a body's range.
    """
    layout = get_layout(layout)
    kp = np.asarray(kp, dtype=np.float32)
    if kp.ndim != 4 or kp.shape[2] != layout.num_joints:
        raise InvalidClipError(
            f'{where}: expected (M, T, {layout.num_joints}, C) for layout '
            f'{layout.name}, got {kp.shape}', 'wrong shape')
    if kp.shape[1] == 0 or kp.shape[0] == 0 or kp.shape[3] == 0:
        raise InvalidClipError(f'{where}: zero frames (shape {kp.shape})',
                               'zero frames')
    if not np.isfinite(kp).all():
        raise InvalidClipError(f'{where}: NaN or infinite coordinates', 'NaN')
    if not kp.any():
        raise InvalidClipError(f'{where}: all coordinates are zero', 'all zeros')
    reason = implausible(kp, layout, metric, scale)
    if reason is not None:
        raise InvalidClipError(f'{where}: {reason}', 'out of range')
    return kp


def is_metric(spec: Optional[dict]) -> bool:
    """Whether a store convention (its ``index.json`` record) holds metres:
    3D conventions do, image keypoints (``coords`` 2) are pixels."""
    return (spec or {}).get('coords') in (None, 3)


def label_problem(label, num_classes: Optional[int]) -> str:
    """Why ``label`` is no class index."""
    if num_classes is None:
        return f'label {label!r} is not a class index (an int >= 0)'
    return f'label {label!r} outside [0, {num_classes})'


def _convention_file(name: str, suffix: str = '') -> str:
    # layout names may hold characters such as '+', fine in file names
    return f'{name}{suffix}.npy'


def _name_crcs(names: Sequence[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(n.encode()) for n in names),
                       dtype=np.uint32,
                       count=len(names))


def resolve_stored_layout(spec: Union[str, dict], where: str) -> SkeletonLayout:
    """The layout a store records for a convention.

    A full layout dict (stores of version 2) needs nothing registered: a
    built-in or already registered layout of the same name and joints is
    used as is (it may have gained roles since), a new name is registered.
    A bare name (version 1) must be known to this process.
    """
    if isinstance(spec, str):
        try:
            return get_layout(spec)
        except KeyError:
            raise KeyError(
                f'{where}: the store records only the layout name {spec!r} '
                '(written before store version 2), unknown to this process: '
                'register the layout (msclr_plugin.skeletons.register_layout) '
                'or convert the store again') from None
    if not isinstance(spec, dict) or 'name' not in spec:
        raise ValueError(f'{where}: layout must be a name or a layout dict, '
                         f'got {type(spec).__name__}')
    try:
        known = get_layout(spec['name'])
    except KeyError:
        try:
            return get_layout(spec)
        except (ValueError, KeyError, TypeError, IndexError) as err:
            raise ValueError(f'{where}: malformed layout '
                             f'{spec["name"]!r} ({err})') from None
    except TypeError as err:  # a name that is no string
        raise ValueError(f'{where}: malformed layout ({err})') from None
    if list(known.joint_names) != list(spec.get('joint_names', [])):
        raise ValueError(f'{where}: the stored layout {spec["name"]!r} has '
                         f'other joints than the layout of that name in this '
                         'process; rename one of them')
    return known


class SkeletonStoreWriter:
    """Write a store clip by clip, streaming frames to disk.

    Args:
        root (str): Output directory (created).
        conventions (dict): ``{name: layout}`` or ``{name: dict(layout=...,
            scale=1.0, source=None, normalize=None, coords=None,
            derived_from=None, made_by=None)}``:
            ``layout`` a layout name, dict or instance (the full layout is
            recorded, so any process reopens the store); ``scale`` multiplies
            the values when read; ``source`` and ``normalize`` record what the
            converter did to this convention's coordinates before
            :meth:`add` (``msclr_plugin.datasets.body_frame``:
            ``source_frame`` and ``resolve_normalize`` records), kept as
            given; ``coords`` the coordinate channels when fewer than 3 are
            (image keypoints with a score channel: 2); ``derived_from`` the
            convention of this store whose coordinates this one was computed
            from by a joint map (a regressor or joint names) in the same
            frame, so that the store checker knows the two aligned by
            construction; ``made_by`` ``dict(tool=..., options=[...])``, the
            tool that wrote the convention and its options that change
            coordinates (named in the checker's fix hints).
        classes (list[str], optional): Class names; labels must index them.
        num_classes (int, optional): Number of classes when there are no
            names (defaults to ``len(classes)``).

    Example:
        >>> with SkeletonStoreWriter('work/store', {'kinectv2_25': 'kinectv2_25'},
        ...                          classes=['drink water']) as w:
        ...     w.add('S001C001P001R001A001', 0, {'kinectv2_25': kp})  # (M,T,V,C)
        ...     w.set_splits({'train': [0]})
    """

    def __init__(self,
                 root: str,
                 conventions: Dict,
                 classes: Optional[Sequence[str]] = None,
                 num_classes: Optional[int] = None) -> None:
        if not conventions:
            raise ValueError(f'{root}: a store needs at least one convention')
        os.makedirs(root, exist_ok=True)
        self.root = root
        self.conventions = {}
        self._layouts = {}
        for name, spec in conventions.items():
            spec = dict(spec) if isinstance(spec, dict) and 'layout' in spec \
                else dict(layout=spec)
            layout = get_layout(spec['layout'])
            self._layouts[name] = layout
            if spec.get('derived_from') not in (None, *conventions) or \
                    spec.get('derived_from') == name:
                raise ValueError(f'{root}: convention {name} derived from '
                                 f'{spec["derived_from"]!r}, not another '
                                 'convention of the store')
            self.conventions[name] = dict(
                layout=layout.to_dict(),
                scale=float(spec.get('scale', 1.0)),
                source=spec.get('source'),
                normalize=spec.get('normalize'),
                coords=spec.get('coords'),
                derived_from=spec.get('derived_from'),
                made_by=spec.get('made_by'),
                data=_convention_file(name),
                offsets=_convention_file(name, '_offsets'),
                clips=_convention_file(name, '_clips'),
                num_joints=layout.num_joints)
        self._raw = {
            name: open(osp.join(root, f'.{name}.raw'), 'wb')
            for name in self.conventions
        }
        self._offsets = {name: [0] for name in self.conventions}
        self._clips = {name: [] for name in self.conventions}
        self._shape = {}
        self.clip_names: List[str] = []
        self._names_set = set()
        self.labels: List[int] = []
        self.splits: Dict[str, List[int]] = {}
        self.classes: Optional[List[str]] = list(classes) if classes else None
        self.num_classes = num_classes
        self.skipped: List[dict] = []
        self.meta: dict = {}

    def _num_classes(self) -> Optional[int]:
        if self.num_classes is not None:
            return int(self.num_classes)
        return len(self.classes) if self.classes else None

    def add(self,
            clip_name: str,
            label: int,
            skeletons: Dict[str, np.ndarray],
            source_frames: Union[int, Dict[str, int], None] = None) -> int:
        """Append one clip; ``skeletons[conv]`` is ``(M, T, V, C)``.

        Every convention is checked before anything is written, so a refused
        clip leaves the store as it was (converters count it as a skip).

        Args:
            clip_name (str): Unique clip name.
            label (int): Class index in ``[0, num_classes)``.
            skeletons (dict): One array per convention of the store.
            source_frames (int | dict, optional): Frames of the source
                before any resampling (per convention or one for all);
                defaults to the stored frames. ``attach_convention`` checks
                new files against it.

        Returns:
            int: The clip's index.

        Raises:
            InvalidClipError: see :func:`check_clip`; a label that is not an
            int in range; a duplicate name; missing or extra conventions;
            ``(M, V, C)`` differing from the convention's earlier clips.
        """
        where = f'{self.root}: clip {clip_name}'
        if set(skeletons) != set(self.conventions):
            raise InvalidClipError(
                f'{where}: conventions {sorted(skeletons)} differ from the '
                f'store\'s {sorted(self.conventions)}', 'missing convention')
        if clip_name in self._names_set:
            raise InvalidClipError(f'{where}: added twice', 'duplicate clip')
        if isinstance(label, (bool, np.bool_)) or \
                not isinstance(label, (int, np.integer)):
            raise InvalidClipError(f'{where}: label {label!r} is not an int',
                                   'bad label')
        num_classes = self._num_classes()
        if label < 0 or (num_classes is not None and label >= num_classes):
            raise InvalidClipError(f'{where}: {label_problem(label, num_classes)}',
                                   'label out of range')
        arrays = {}
        for name, kp in skeletons.items():
            kp = check_clip(kp, self._layouts[name],
                            f'{where}, convention {name}',
                            is_metric(self.conventions[name]),
                            self.conventions[name]['scale'])
            shape = (kp.shape[0], kp.shape[2], kp.shape[3])
            if self._shape.get(name, shape) != shape:
                raise InvalidClipError(
                    f'{where}, convention {name}: (M, V, C) = {shape} differs '
                    f'from earlier clips {self._shape[name]}', 'shape differs')
            # stored frame-major: (T, M, V, C)
            arrays[name] = np.ascontiguousarray(kp.transpose(1, 0, 2, 3))
        name_crc = zlib.crc32(clip_name.encode())
        for name, data in arrays.items():
            self._shape.setdefault(name, (data.shape[1], *data.shape[2:]))
            self._raw[name].write(data.data)
            self._offsets[name].append(self._offsets[name][-1] + len(data))
            src = source_frames.get(name) if isinstance(source_frames, dict) \
                else source_frames
            self._clips[name].append(
                (len(data), len(data) if src is None else int(src),
                 zlib.crc32(data.data, name_crc)))
        self.clip_names.append(clip_name)
        self._names_set.add(clip_name)
        self.labels.append(int(label))
        return len(self.clip_names) - 1

    def set_splits(self, splits: Dict[str, Sequence[int]]) -> None:
        self.splits = {k: [int(i) for i in v] for k, v in splits.items()}

    def close(self,
              splits: Optional[Dict[str, Sequence[int]]] = None,
              classes: Optional[Sequence[str]] = None,
              num_classes: Optional[int] = None,
              skipped: Optional[List[dict]] = None,
              meta: Optional[dict] = None) -> str:
        """Finish the arrays and write ``index.json``; returns its path.

        Arguments given here replace the attributes of the same name
        (``splits``, ``classes``, ``num_classes``, ``skipped``: a list of
        ``{clip, reason, kind}``, ``meta``: free JSON data). The index is
        checked as :class:`SkeletonStore` checks it when opening.
        """
        if splits is not None:
            self.set_splits(splits)
        if classes is not None:
            self.classes = list(classes)
        if num_classes is not None:
            self.num_classes = num_classes
        if skipped is not None:
            self.skipped = list(skipped)
        if meta is not None:
            self.meta = dict(meta)
        for name, raw in self._raw.items():
            raw.close()
            m, v, c = self._shape.get(name, (1, self.conventions[name]
                                             ['num_joints'], 3))
            total = self._offsets[name][-1]
            src = osp.join(self.root, f'.{name}.raw')
            # header + streamed copy: memory stays bounded for NTU-sized stores
            with open(osp.join(self.root, self.conventions[name]['data']),
                      'wb') as out, open(src, 'rb') as raw:
                np.lib.format.write_array_header_1_0(
                    out,
                    dict(
                        descr=np.lib.format.dtype_to_descr(
                            np.dtype(np.float32)),
                        fortran_order=False,
                        shape=(total, m, v, c)))
                shutil.copyfileobj(raw, out, 1 << 24)
            os.remove(src)
            np.save(
                osp.join(self.root, self.conventions[name]['offsets']),
                np.asarray(self._offsets[name], dtype=np.int64))
            np.save(
                osp.join(self.root, self.conventions[name]['clips']),
                np.array(self._clips[name], dtype=CLIP_DTYPE))
            self.conventions[name].update(num_person=m, channels=c)
        index = dict(
            format=FORMAT,
            version=VERSION,
            num_clips=len(self.clip_names),
            clip_names=self.clip_names,
            labels=self.labels,
            classes=self.classes,
            num_classes=self._num_classes(),
            splits=self.splits,
            conventions=self.conventions,
            skipped=self.skipped,
            meta=self.meta)
        path = osp.join(self.root, 'index.json')
        check_index(index, path)
        with open(path, 'w') as f:
            json.dump(index, f)
        return path

    def abort(self) -> None:
        """Write nothing: remove the partial files (and the directory when
        nothing else is in it)."""
        for raw in self._raw.values():
            raw.close()
            if osp.exists(raw.name):
                os.remove(raw.name)
        if not os.listdir(self.root):
            os.rmdir(self.root)

    def __enter__(self) -> 'SkeletonStoreWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            for raw in self._raw.values():
                raw.close()


def _split_groups(splits: Dict[str, list]) -> Dict[str, List[str]]:
    """Splits of one protocol (``xsub_train``/``xsub_val``, or ``train``/
    ``val``/``test``), which must not share clips."""
    groups = {}
    for name in splits:
        prefix, _, part = name.rpartition('_')
        if part in _SPLIT_PARTS:
            groups.setdefault(prefix, []).append(name)
    return {k: v for k, v in groups.items() if len(v) > 1}


def split_overlaps(splits: Dict[str, list], names: Sequence[str],
                   split: Optional[str] = None) -> List[str]:
    """Messages for splits of one protocol (``xsub_train``/``xsub_val``, or
    ``train``/``val``/``test``) that share clips (the store checker's
    disjoint-splits check), of every pair or of those with ``split``."""
    out = []
    for group in _split_groups(splits).values():
        for a_pos, a in enumerate(group):
            for b in group[a_pos + 1:]:
                if split is not None and split not in (a, b):
                    continue
                common = set(splits[a]) & set(splits[b])
                if common:
                    out.append(f'splits {a} and {b} share {len(common)} clips '
                               f'(e.g. {names[min(common)]})')
    return out


def refuse_for_training(store: 'SkeletonStore', split: Optional[str]) -> None:
    """Raise if training on ``split`` of ``store`` would be wrong: the split
    shares clips with another split of its protocol, or the store records no
    clip identity (version 1: shifted, swapped or renamed clips would train
    silently on wrong pairs and labels).

    Raises:
        ValueError: naming the store, with the checker's message or the
        command that rewrites the store as version 2.
    """
    overlaps = split_overlaps(store.splits, store.clip_names, split) \
        if split is not None else []
    if overlaps:
        raise ValueError(f'{store.root}: not trained on: {overlaps[0]} '
                         '(evaluation would score clips seen in training); '
                         'tools/data/check_store.py lists every overlap')
    if not store.reader.has_identity:
        raise ValueError(
            f'{store.root}: store version {store.index["version"]} records no '
            'clip identity, so shifted, swapped or renamed clips cannot be '
            'detected: not trained on. Rewrite it as version 2 (checking '
            'what the data can show) with: python tools/data/upgrade_store.py '
            f'{store.root} --out {store.root.rstrip("/")}_v2')


def check_index(index: dict, path: str) -> None:
    """Check an index's schema, labels and split indices.

    Raises:
        ValueError: naming the index file and, where there is one, the clip.
    """
    if not isinstance(index, dict):
        raise ValueError(f'{path}: the index is not a JSON object')
    if index.get('format') != FORMAT:
        raise ValueError(f'{path}: format {index.get("format")!r} is not '
                         f'{FORMAT!r}')
    if index.get('version') not in READABLE_VERSIONS:
        raise ValueError(f'{path}: store version {index.get("version")} '
                         f'unsupported (readable: {READABLE_VERSIONS})')
    missing = [k for k in ('clip_names', 'labels', 'conventions')
               if k not in index]
    if missing:
        raise ValueError(f'{path}: the index lacks {missing}')
    names, labels = index['clip_names'], index['labels']
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f'{path}: clip_names must be a list of strings')
    if index.get('num_clips', len(names)) != len(names):
        raise ValueError(f'{path}: num_clips {index["num_clips"]} but '
                         f'{len(names)} clip names')
    if len(set(names)) != len(names):
        seen = set()
        dup = next(n for n in names if n in seen or seen.add(n))
        raise ValueError(f'{path}: clip {dup} appears twice in clip_names')
    if not isinstance(labels, list) or len(labels) != len(names):
        raise ValueError(f'{path}: {len(labels) if isinstance(labels, list) else "no"}'
                         f' labels for {len(names)} clips')
    conventions = index['conventions']
    if not isinstance(conventions, dict) or not conventions:
        raise ValueError(f'{path}: no conventions')
    for conv, spec in conventions.items():
        lacks = [k for k in ('layout', 'data', 'offsets', 'num_joints')
                 if not isinstance(spec, dict) or k not in spec]
        if lacks:
            raise ValueError(f'{path}: convention {conv} lacks {lacks}')
        for key in ('data', 'offsets', 'clips'):
            if key not in spec:
                continue
            file = spec[key]
            # a bare file name: the arrays live in the store directory
            if not isinstance(file, str) or \
                    osp.basename(file) != file or file in ('', '.', '..'):
                raise ValueError(
                    f'{path}: convention {conv}: {key} {file!r} is not a file '
                    'name inside the store directory (paths elsewhere are '
                    'not read)')
    classes = index.get('classes')
    num_classes = index.get('num_classes')
    if num_classes is None and classes:
        num_classes = len(classes)
    for i, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, int) or label < 0 \
                or (num_classes is not None and label >= num_classes):
            raise ValueError(
                f'{path}: clip {names[i]} has label {label!r}, ' +
                (f'outside [0, {num_classes})' if num_classes is not None
                 else 'not a class index (an int >= 0)'))
    splits = index.get('splits') or {}
    if not isinstance(splits, dict):
        raise ValueError(f'{path}: splits must be an object')
    for split, idx in splits.items():
        if not isinstance(idx, list):
            raise ValueError(f'{path}: split {split} is not a list')
        for pos, i in enumerate(idx):
            if isinstance(i, bool) or not isinstance(i, int) or \
                    not 0 <= i < len(names):
                raise ValueError(f'{path}: split {split} entry {pos} is '
                                 f'{i!r}, not a clip index of [0, '
                                 f'{len(names)})')
        if len(set(idx)) != len(idx):
            seen = set()
            dup = next(i for i in idx if i in seen or seen.add(i))
            raise ValueError(f'{path}: split {split} lists clip {names[dup]} '
                             'twice')


class ClipReader:
    """Reads clips from a store's arrays: the part of a store that dataloader
    workers need (no index, so nothing in proportion to the clips but the
    offsets and CRCs).

    Files are opened on first use and never pickled: forked workers share the
    parent's (a positioned read moves no file position), an unpickled copy
    (spawn) opens its own.

    Args:
        root (str): The store directory.
        conventions (dict): ``conventions`` of ``index.json``.
        clip_names (list[str]): The store's clip names (their CRCs salt the
            clip CRCs; only a uint32 per clip is kept).
    """

    def __init__(self, root: str, conventions: Dict[str, dict],
                 clip_names: Sequence[str]) -> None:
        num_clips = len(clip_names)
        self.root = root
        self._files = {}
        self.scales = {n: s.get('scale', 1.0) for n, s in conventions.items()}
        self._paths, self._frames, self._offsets, self._crc = {}, {}, {}, {}
        # clips whose CRC this process has checked (once is enough: about
        # 40 us per 50-frame 2-body clip on a 2-core machine)
        self._verified = {}
        self._name_crc = _name_crcs(clip_names) if all(
            'clips' in s for s in conventions.values()) else None
        for name, spec in conventions.items():
            path = osp.join(root, spec['data'])
            try:
                # the mapping checks header and file size; no data is read
                data = np.load(path, mmap_mode='r')
                offsets = np.load(osp.join(root, spec['offsets']))
                clips = np.load(osp.join(root, spec['clips'])) \
                    if 'clips' in spec else None
            except (OSError, ValueError) as err:
                raise ValueError(f'{root}: cannot read convention {name} '
                                 f'({err})') from None
            if data.dtype != np.float32 or data.ndim != 4 or \
                    not data.flags.c_contiguous:
                raise ValueError(f'{path}: expected a C-ordered float32 '
                                 f'(frames, M, V, C) array, got {data.dtype} '
                                 f'{data.shape}')
            if data.shape[2] != spec['num_joints']:
                raise ValueError(f'{path}: {data.shape[2]} joints, the index '
                                 f'says {spec["num_joints"]}')
            if offsets.shape != (num_clips + 1, ) or offsets[0] != 0 or \
                    offsets[-1] != len(data) or (np.diff(offsets) < 0).any():
                raise ValueError(
                    f'{root}: offsets of convention {name} do not match '
                    f'{num_clips} clips / {len(data)} frames')
            if clips is not None:
                if clips.dtype != CLIP_DTYPE or clips.shape != (num_clips, ):
                    raise ValueError(f'{root}: {spec["clips"]} is not the clip '
                                     f'table of {num_clips} clips')
                diff = np.flatnonzero(np.diff(offsets) != clips['frames'])
                if len(diff):
                    i = int(diff[0])
                    raise ValueError(
                        f'{root}: convention {name}, clip {clip_names[i]}: '
                        f'the offsets give {int(offsets[i + 1] - offsets[i])} '
                        f'frames, {int(clips["frames"][i])} were written '
                        f'(offsets shifted or replaced; {len(diff)} clips '
                        'differ): convert the store again')
                self._crc[name] = np.ascontiguousarray(clips['crc32'])
                self._verified[name] = np.zeros(num_clips, dtype=bool)
            self._paths[name] = path
            self._offsets[name] = offsets
            # (byte offset of frame 0, shape of a frame)
            self._frames[name] = (data.offset, data.shape[1:])

    @property
    def has_identity(self) -> bool:
        """Whether clips are checked against their recorded CRCs."""
        return self._name_crc is not None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_files'] = {}
        return state

    def close(self) -> None:
        """Close the files (a later read reopens them)."""
        for file in self._files.values():
            file.close()
        self._files = {}

    def __del__(self) -> None:
        self.close()

    def num_frames(self, name: str) -> np.ndarray:
        return np.diff(self._offsets[name])

    def get(self, idx: int, name: str, scaled: bool = True) -> np.ndarray:
        """Clip ``idx`` of convention ``name`` as ``(M, T, V, C)`` float32
        (a fresh array, multiplied by the convention's ``scale`` unless
        ``scaled=False``), checked against its recorded CRC the first time
        this process reads it.

        Raises:
            ValueError: truncated file, or a clip that is not the one
            written under this name and index.
        """
        if name not in self._files:
            self._files[name] = open(self._paths[name], 'rb', buffering=0)
        start, stop = self._offsets[name][idx], self._offsets[name][idx + 1]
        base, frame = self._frames[name]
        kp = np.empty((stop - start, *frame), dtype=np.float32)
        read = os.preadv(self._files[name].fileno(), [kp],
                         base + int(start) * kp.itemsize * int(np.prod(frame)))
        if read != kp.nbytes:
            raise ValueError(f'{self._paths[name]}: clip {idx} of convention '
                             f'{name} is truncated')
        if self._name_crc is not None and not self._verified[name][idx]:
            if zlib.crc32(kp.data, int(self._name_crc[idx])) != self._crc[name][idx]:
                raise ValueError(
                    f'{self.root}: convention {name}, clip #{idx}: the data is '
                    'not the clip written under this name (offsets shifted, '
                    'clips swapped, duplicated or edited in this convention); '
                    'convert the store again')
            self._verified[name][idx] = True
        kp = kp.transpose(1, 0, 2, 3)
        scale = self.scales[name]
        return kp * np.float32(scale) if scaled and scale != 1.0 else \
            np.ascontiguousarray(kp)


class SkeletonStore:
    """Read a store written by :class:`SkeletonStoreWriter`.

    Args:
        root (str): The store directory.
        verify (int): Clips per convention whose CRC is checked now (evenly
            spread, first and last included). Defaults to
            :data:`OPEN_SAMPLE`; the first read of every clip is checked
            anyway.

    Attributes:
        clip_names (list[str]), labels (np.ndarray), splits (dict),
        conventions (dict): as in ``index.json``; ``classes`` may be None.
        num_classes (int | None): ``num_classes`` or ``len(classes)``.
        layouts (dict): ``{convention: SkeletonLayout}`` from the index.
        reader (ClipReader): Reads the clips.
    """

    def __init__(self, root: str, verify: int = OPEN_SAMPLE) -> None:
        path = osp.join(root, 'index.json')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: not a skeleton store (no '
                                    'index.json)')
        with open(path) as f:
            try:
                index = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}: corrupt index ({err})') from None
        check_index(index, path)
        self.root = root
        self.index = index
        self.clip_names: List[str] = index['clip_names']
        self.labels = np.asarray(index['labels'], dtype=np.int64)
        self.classes = index.get('classes')
        self.num_classes = index.get('num_classes') or (
            len(self.classes) if self.classes else None)
        self.splits: Dict[str, List[int]] = index.get('splits') or {}
        self.conventions: Dict[str, dict] = index['conventions']
        self.skipped = index.get('skipped', [])
        self.layouts = {
            name: resolve_stored_layout(spec['layout'],
                                        f'{root}: convention {name}')
            for name, spec in self.conventions.items()
        }
        for name, layout in self.layouts.items():
            if layout.num_joints != self.conventions[name]['num_joints']:
                raise ValueError(f'{root}: convention {name} stores '
                                 f'{self.conventions[name]["num_joints"]} '
                                 f'joints, layout {layout.name} has '
                                 f'{layout.num_joints}')
        self.reader = ClipReader(root, self.conventions, self.clip_names)
        if not self.reader.has_identity:
            print_log(
                f'{root}: store version {index["version"]} records no clip '
                'identity: shifted, swapped or duplicated clips cannot be '
                'detected; convert it again with this version',
                logger='current',
                level=30)
        elif verify and len(self):
            for i in np.unique(np.linspace(0, len(self) - 1, verify).round()):
                for name in self.conventions:
                    self.get(int(i), name)

    def __len__(self) -> int:
        return len(self.clip_names)

    def layout(self, name: str) -> SkeletonLayout:
        """The layout of convention ``name``."""
        return self.layouts[name]

    def num_frames(self, name: str) -> np.ndarray:
        return self.reader.num_frames(name)

    def source_frames(self, name: str) -> np.ndarray:
        """Frames of each clip's source before resampling (stored frames for
        stores that do not record them)."""
        spec = self.conventions[name]
        if 'clips' not in spec:
            return self.num_frames(name)
        return np.load(osp.join(self.root, spec['clips']))['source_frames']

    def get(self, idx: int, name: str, scaled: bool = True) -> np.ndarray:
        """Clip ``idx`` of convention ``name`` as ``(M, T, V, C)`` float32
        (a fresh array, scaled by the convention's ``scale`` unless
        ``scaled=False``); errors name the clip."""
        try:
            return self.reader.get(idx, name, scaled)
        except ValueError as err:
            raise ValueError(
                str(err).replace(f'clip #{idx}', f'clip {self.clip_names[idx]}')) \
                from None
