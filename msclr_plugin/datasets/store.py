"""The skeleton store: multi-convention clips on disk, read memory-mapped.

Format (docs/datasets.md): a directory with ``index.json`` (names, labels,
splits, conventions; plain JSON, so loading it runs no code) and, per
convention, ``<name>.npy`` holding every clip's frames concatenated,
``(total_frames, M, V, C)`` float32, plus ``<name>_offsets.npy`` (int64,
``N + 1``). Arrays are opened with ``mmap_mode='r'`` (header, dtype and
size checks; no data is read) and clips are read with positioned reads
(``preadv``, POSIX): dataloader workers share the page cache instead of
copying the data, and, unlike reads through the mapping, a read adds no file
pages to the reader's RSS (a fault on a mapping maps the whole large page
cache folio around it, so mapped reads over an epoch would make every
worker's RSS the size of the store).
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Sequence

import numpy as np

FORMAT = 'msclr-skeleton-store'
VERSION = 1


def _convention_file(name: str, suffix: str = '') -> str:
    # layout names may hold characters such as '+', fine in file names
    return f'{name}{suffix}.npy'


class SkeletonStoreWriter:
    """Write a store clip by clip, streaming frames to disk.

    Args:
        root (str): Output directory (created).
        conventions (dict): ``{name: dict(layout=..., scale=1.0)}`` or
            ``{name: layout}``; ``layout`` is a layout name or layout dict.

    Example:
        >>> with SkeletonStoreWriter('work/store', {'kinectv2_25': 'kinectv2_25'}) as w:
        ...     w.add('S001C001P001R001A001', 0, {'kinectv2_25': kp})  # (M,T,V,C)
        ...     w.set_splits({'train': [0]})
    """

    def __init__(self, root: str, conventions: Dict) -> None:
        from msclr_plugin.skeletons import get_layout
        os.makedirs(root, exist_ok=True)
        self.root = root
        self.conventions = {}
        for name, spec in conventions.items():
            spec = dict(spec) if isinstance(spec, dict) and 'layout' in spec \
                else dict(layout=spec)
            layout = get_layout(spec['layout'])
            self.conventions[name] = dict(
                layout=spec['layout'] if isinstance(spec['layout'], str) else
                layout.to_dict(),
                scale=float(spec.get('scale', 1.0)),
                data=_convention_file(name),
                offsets=_convention_file(name, '_offsets'),
                num_joints=layout.num_joints)
        self._raw = {
            name: open(osp.join(root, f'.{name}.raw'), 'wb')
            for name in self.conventions
        }
        self._offsets = {name: [0] for name in self.conventions}
        self._shape = {}
        self.clip_names: List[str] = []
        self._names_set = set()
        self.labels: List[int] = []
        self.splits: Dict[str, List[int]] = {}
        self.classes: Optional[List[str]] = None
        self.skipped: List[dict] = []
        self.meta: dict = {}

    def add(self, clip_name: str, label: int,
            skeletons: Dict[str, np.ndarray]) -> int:
        """Append one clip; ``skeletons[conv]`` is ``(M, T, V, C)``.

        Returns:
            int: The clip's index.
        """
        if set(skeletons) != set(self.conventions):
            raise ValueError(
                f'clip {clip_name}: conventions {sorted(skeletons)} differ '
                f'from the store\'s {sorted(self.conventions)}')
        if clip_name in self._names_set:
            raise ValueError(f'clip {clip_name} added twice')
        for name, kp in skeletons.items():
            kp = np.asarray(kp, dtype=np.float32)
            spec = self.conventions[name]
            if kp.ndim != 4 or kp.shape[2] != spec['num_joints']:
                raise ValueError(
                    f'clip {clip_name}, convention {name}: expected (M, T, '
                    f'{spec["num_joints"]}, C), got {kp.shape}')
            if kp.shape[1] == 0:
                raise ValueError(f'clip {clip_name}, convention {name}: '
                                 'zero frames')
            if not np.isfinite(kp).all():
                raise ValueError(f'clip {clip_name}, convention {name}: '
                                 'NaN or infinite coordinates')
            m, _, v, c = kp.shape
            if self._shape.setdefault(name, (m, v, c)) != (m, v, c):
                raise ValueError(
                    f'clip {clip_name}, convention {name}: (M, V, C) = '
                    f'{(m, v, c)} differs from earlier clips '
                    f'{self._shape[name]}')
            # stored frame-major: (T, M, V, C)
            self._raw[name].write(
                np.ascontiguousarray(kp.transpose(1, 0, 2, 3)).tobytes())
            self._offsets[name].append(self._offsets[name][-1] + kp.shape[1])
        self.clip_names.append(clip_name)
        self._names_set.add(clip_name)
        self.labels.append(int(label))
        return len(self.clip_names) - 1

    def set_splits(self, splits: Dict[str, Sequence[int]]) -> None:
        self.splits = {k: [int(i) for i in v] for k, v in splits.items()}

    def close(self) -> str:
        """Finish the arrays and write ``index.json``; returns its path."""
        num = len(self.clip_names)
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
            self.conventions[name].update(num_person=m, channels=c)
        for split, idx in self.splits.items():
            bad = [i for i in idx if not 0 <= i < num]
            if bad:
                raise ValueError(f'split {split} refers to clips {bad[:5]} '
                                 f'of a store with {num} clips')
        index = dict(
            format=FORMAT,
            version=VERSION,
            num_clips=num,
            clip_names=self.clip_names,
            labels=self.labels,
            classes=self.classes,
            splits=self.splits,
            conventions=self.conventions,
            skipped=self.skipped,
            meta=self.meta)
        path = osp.join(self.root, 'index.json')
        with open(path, 'w') as f:
            json.dump(index, f)
        return path

    def __enter__(self) -> 'SkeletonStoreWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            for raw in self._raw.values():
                raw.close()


class ClipReader:
    """Reads clips from a store's arrays: the part of a store that dataloader
    workers need (no index, so nothing in proportion to the clips but the
    offsets).

    Files are opened on first use and never pickled: forked workers share the
    parent's (a positioned read moves no file position), an unpickled copy
    (spawn) opens its own.

    Args:
        root (str): The store directory.
        conventions (dict): ``conventions`` of ``index.json``.
        num_clips (int): Clips in the store (checked against the offsets).
    """

    def __init__(self, root: str, conventions: Dict[str, dict],
                 num_clips: int) -> None:
        self._files = {}
        self.scales = {n: s.get('scale', 1.0) for n, s in conventions.items()}
        self._paths, self._frames, self._offsets = {}, {}, {}
        for name, spec in conventions.items():
            path = osp.join(root, spec['data'])
            try:
                # the mapping checks header and file size; no data is read
                data = np.load(path, mmap_mode='r')
                self._offsets[name] = np.load(osp.join(root, spec['offsets']))
            except (OSError, ValueError) as err:
                raise ValueError(f'{path}: cannot read convention {name} '
                                 f'({err})') from None
            if data.dtype != np.float32 or data.ndim != 4 or \
                    not data.flags.c_contiguous:
                raise ValueError(f'{path}: expected a C-ordered float32 '
                                 f'(frames, M, V, C) array, got {data.dtype} '
                                 f'{data.shape}')
            if len(self._offsets[name]) != num_clips + 1 or \
                    self._offsets[name][-1] != len(data):
                raise ValueError(
                    f'{path}: offsets of convention {name} do not match '
                    f'{num_clips} clips / {len(data)} frames')
            self._paths[name] = path
            # (byte offset of frame 0, shape of a frame)
            self._frames[name] = (data.offset, data.shape[1:])

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

    def get(self, idx: int, name: str) -> np.ndarray:
        """Clip ``idx`` of convention ``name`` as ``(M, T, V, C)`` float32
        (a fresh array, scaled by the convention's ``scale``)."""
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
        kp = kp.transpose(1, 0, 2, 3)
        scale = self.scales[name]
        return kp * np.float32(scale) if scale != 1.0 else \
            np.ascontiguousarray(kp)


class SkeletonStore:
    """Read a store written by :class:`SkeletonStoreWriter`.

    Args:
        root (str): The store directory.

    Attributes:
        clip_names (list[str]), labels (np.ndarray), splits (dict),
        conventions (dict): as in ``index.json``; ``classes`` may be None.
        reader (ClipReader): Reads the clips.
    """

    def __init__(self, root: str) -> None:
        path = osp.join(root, 'index.json')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: not a skeleton store (no '
                                    'index.json)')
        with open(path) as f:
            try:
                index = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}: corrupt index ({err})') from None
        if index.get('format') != FORMAT:
            raise ValueError(f'{path}: format {index.get("format")!r} is not '
                             f'{FORMAT!r}')
        if index.get('version') != VERSION:
            raise ValueError(f'{path}: store version {index.get("version")} '
                             f'unsupported (expected {VERSION})')
        self.root = root
        self.index = index
        self.clip_names: List[str] = index['clip_names']
        self.labels = np.asarray(index['labels'], dtype=np.int64)
        self.classes = index.get('classes')
        self.splits: Dict[str, List[int]] = index.get('splits', {})
        self.conventions: Dict[str, dict] = index['conventions']
        self.skipped = index.get('skipped', [])
        self.reader = ClipReader(root, self.conventions, len(self.clip_names))

    def __len__(self) -> int:
        return len(self.clip_names)

    def num_frames(self, name: str) -> np.ndarray:
        return self.reader.num_frames(name)

    def get(self, idx: int, name: str) -> np.ndarray:
        """Clip ``idx`` of convention ``name`` as ``(M, T, V, C)`` float32
        (a fresh array, scaled by the convention's ``scale``)."""
        return self.reader.get(idx, name)
