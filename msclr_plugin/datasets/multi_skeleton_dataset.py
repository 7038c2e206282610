"""A dataset of clips recorded (or converted) in several skeleton conventions.

See docs/datasets.md for the sources, the modes, the pairing policies and the
results dict each item starts as.
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmaction.registry import DATASETS, TRANSFORMS
from mmengine.dataset import BaseDataset
from mmengine.dist import sync_random_seed
from mmengine.logging import print_log

from msclr_plugin.skeletons import get_layout
from .label_subset import select_labelled_subset
from .safe_pickle import load_pickle
from .store import SkeletonStore, check_clip, is_metric, refuse_for_training
from .store_check import check_clips
from .transforms._random import mix64


def _load_mapping(path: str) -> Dict[str, np.ndarray]:
    """A ``clip name -> (M, T, V, C)`` mapping from ``.npz`` or ``.pkl``."""
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    if path.endswith(('.pkl', '.pickle')):
        mapping = load_pickle(path)
        if not isinstance(mapping, dict):
            raise ValueError(f'{path}: expected a dict clip name -> array, '
                             f'got {type(mapping).__name__}')
        return mapping
    raise ValueError(f'{path}: extra conventions must be .npz or .pkl files')


@DATASETS.register_module()
class MultiSkeletonDataset(BaseDataset):
    """Clips in several skeleton conventions, for MS-CLR.

    Each clip exists in every convention (same clip order). Items depend on
    ``mode``:

    - ``'pretrain'``: ``num_clips * num_conventions`` items per epoch, item
      ``i`` = clip ``i % N`` with query convention ``i // N`` (every
      (clip, query) once per epoch, as MS-CLR); the key convention is drawn
      by ``pairing`` from ``hash(seed, epoch, i)``. ``views = {'query': A,
      'query_extreme': A, 'key': B}`` (and ``extra_views``).
    - ``'single'``: ``N * S`` items ``(clip, convention)``; ``views =
      {'single': conv}``, one view name for all items so that a batch mixing
      conventions collates (linear probing of per-convention heads).
    - ``'all'``: ``N`` items, every convention a view (ensemble testing).
    - ``'reference'`` or a convention name: ``N`` items in that convention.

    Randomness and epochs: the epoch enters through the index. An index
    ``idx >= len(self)`` means epoch ``idx // len(self)`` and item
    ``idx % len(self)``; :class:`ConventionGroupedBatchSampler` yields such
    indices, so persistent dataloader workers (which never see attribute
    changes) still draw a fresh key convention every epoch. With a plain
    sampler the key of an item is the same every epoch (epoch 0).

    Args:
        ann_file (str): A skeleton store directory (preferred: read in place)
            or an mmaction2 PoseDataset ``.pkl`` annotation file (read with a
            restricted unpickler: numpy arrays and built-in containers only,
            :func:`~msclr_plugin.datasets.safe_pickle.load_pickle`).
        conventions (list, optional): Names, or dicts ``name`` (+ optional
            ``layout``, ``scale``) selecting and overriding conventions. For a
            store, None means all of them, in the store's order, and
            ``scale`` multiplies the store's values. For a pickle the first
            entry describes the annotation's ``keypoint`` and is required;
            others must be in ``extra_conventions``.
        extra_conventions (dict, optional): Pickle source only:
            ``{conv: path}`` to a ``.npz`` or ``.pkl`` mapping clip name
            (``frame_dir``) to ``(M, T, V, C)``.
        split (str, optional): Split of the store / pickle. None: all clips.
        pipeline (list): Transforms (dicts are built from mmaction's
            registry).
        mode (str): See above. Defaults to ``'pretrain'``.
        pairing (str): ``'random'`` (key uniform over all, same allowed: the
            paper), ``'cross'`` (never the same) or ``'reference'`` (when the
            query is not the reference convention the key is; when it is,
            the key is uniform over all). Defaults to ``'random'``.
        reference (str, optional): Reference convention. Defaults to the
            first.
        extra_views (dict, optional): Pretraining only: more views
            ``{view: 'query' | 'key'}``, each rendering the query's or the
            key's convention of the item with its own augmentation draws
            (e.g. ``dict(key_same='query')``: a second key in the query's
            convention, for ``MSMoCo(extra_key_view=...)``). They come after
            the three views, so those draw as without them.
        seed (int, optional): Seed of the key draws and, through
            :class:`MSMultiView`, of each item's augmentation. Defaults to
            None: mmengine's ``sync_random_seed()``, which follows the run's
            ``randomness.seed`` and agrees across ranks.
        label_fraction (float, optional): Keep a class-balanced fraction of
            the clips of the split (semi-supervised evaluation; see
            :func:`msclr_plugin.datasets.select_labelled_subset`).
        label_seed (int): Seed of that selection. Defaults to 0.
        validate (bool): Check every clip of the dataset and the agreement of
            its conventions at init, with the store checker
            (:func:`~msclr_plugin.datasets.store_check.check_clips`, as
            ``tools/data/check_store.py``); a disagreement (conventions not
            in one body frame) raises with the checker's report. Otherwise
            each item is checked when loaded. Defaults to False.
        on_missing (str): ``'error'`` or ``'skip'`` for clips missing from an
            extra convention (skips are counted and logged); with
            ``validate=True`` it also applies to invalid clips.
        test_mode (bool): Passed to BaseDataset. Defaults to False.
        **kwargs: Other BaseDataset arguments (``metainfo``, ``lazy_init``,
            ``max_refetch``); ``indices`` is not supported.
    """

    MODES = ('pretrain', 'single', 'all', 'reference')
    PAIRINGS = ('random', 'cross', 'reference')

    def __init__(self,
                 ann_file: str,
                 conventions: Optional[List[Union[str, dict]]] = None,
                 extra_conventions: Optional[Dict[str, str]] = None,
                 split: Optional[str] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 mode: str = 'pretrain',
                 pairing: str = 'random',
                 reference: Optional[str] = None,
                 extra_views: Optional[Dict[str, str]] = None,
                 seed: Optional[int] = None,
                 label_fraction: Optional[float] = None,
                 label_seed: int = 0,
                 validate: bool = False,
                 on_missing: str = 'error',
                 test_mode: bool = False,
                 **kwargs) -> None:
        if pairing not in self.PAIRINGS:
            raise ValueError(f'pairing must be one of {self.PAIRINGS}, got '
                             f'{pairing!r}')
        self.extra_views = dict(extra_views or {})
        for view, role in self.extra_views.items():
            if role not in ('query', 'key') or view in ('query', 'query_extreme', 'key'):
                raise ValueError(f"extra_views: {view!r} -> {role!r}; expected a new "
                                 "view name -> 'query' or 'key'")
        if on_missing not in ('error', 'skip'):
            raise ValueError(f"on_missing must be 'error' or 'skip', got "
                             f'{on_missing!r}')
        if kwargs.pop('indices', None) is not None:
            raise ValueError('MultiSkeletonDataset does not support indices; '
                             'use split or label_fraction')
        self.conventions_cfg = conventions
        self.extra_conventions = dict(extra_conventions or {})
        self.split = split
        self.mode = mode
        self.pairing = pairing
        self.reference_cfg = reference
        self.seed = int(sync_random_seed() if seed is None else seed)
        self.label_fraction = label_fraction
        self.label_seed = label_seed
        self.validate = validate
        self.on_missing = on_missing
        self.num_skipped = 0
        pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(
            ann_file=ann_file,
            pipeline=pipeline,
            test_mode=test_mode,
            serialize_data=False,
            **kwargs)

    # ------------------------------------------------------------- loading
    @property
    def is_store(self) -> bool:
        return osp.isdir(self.ann_file)

    def full_init(self) -> None:
        """Read the index (store) or the annotations (pickle) and check them.
        """
        if self._fully_initialized:
            return
        self._reader = None
        self._arrays = None
        if self.is_store:
            # keep the reader only: the parsed index (names, splits) is
            # inherited by every forked worker and counted in its RSS
            store = SkeletonStore(self.ann_file)
            if not self.test_mode:
                refuse_for_training(store, self.split)
            self._reader = store.reader
            names, labels = store.clip_names, store.labels
            self.layouts, self.scales = self._store_conventions(store)
            self.classes = store.classes
            self.num_classes = store.num_classes
            clip_ids = self._split_indices(store.splits, len(names))
        else:
            names, labels = self._load_pickle()
            self.classes = self.num_classes = None
            clip_ids = np.arange(len(names))
        self.conv_names = list(self.layouts)
        if self.reference_cfg is None:
            self.reference = self.conv_names[0]
        elif self.reference_cfg not in self.layouts:
            raise ValueError(f'{self.ann_file}: reference convention '
                             f'{self.reference_cfg!r} not among '
                             f'{self.conv_names}')
        else:
            self.reference = self.reference_cfg
        if self.mode not in self.MODES and self.mode not in self.layouts:
            raise ValueError(f'mode must be one of {self.MODES} or a '
                             f'convention {self.conv_names}, got '
                             f'{self.mode!r}')
        if self.pairing == 'cross' and len(self.conv_names) < 2:
            raise ValueError("pairing='cross' needs at least two "
                             'conventions')
        if self.label_fraction is not None:
            clip_ids = clip_ids[select_labelled_subset(
                np.asarray(labels)[clip_ids], self.label_fraction, self.label_seed)]
        self.clip_ids = np.asarray(clip_ids, dtype=np.int64)
        # one UTF-8 buffer, not a list of str: workers reading names would
        # otherwise write the refcounts of the parent's str objects and
        # copy their pages (about 8 MB per worker per NTU-120 epoch)
        self._names = np.array([names[i].encode() for i in self.clip_ids],
                               dtype=np.bytes_)
        self.labels = np.asarray(labels, dtype=np.int64)[self.clip_ids]
        if self.classes and 'classes' not in self._metainfo:
            self._metainfo['classes'] = tuple(self.classes)
        if self.validate:
            self._validate_all()
        self._fully_initialized = True

    def _parse_conventions(self) -> List[dict]:
        specs = []
        for conv in self.conventions_cfg or []:
            spec = dict(name=conv) if isinstance(conv, str) else dict(conv)
            if 'name' not in spec:
                raise ValueError(f'{self.ann_file}: convention {conv} has no '
                                 'name')
            specs.append(spec)
        return specs

    def _store_conventions(self, store: SkeletonStore):
        specs = self._parse_conventions() or [dict(name=n) for n in store.conventions]
        layouts, scales, records = {}, {}, {}
        for spec in specs:
            name = spec['name']
            if name not in store.conventions:
                raise ValueError(f'{self.ann_file}: convention {name!r} is '
                                 f'not in the store '
                                 f'({sorted(store.conventions)})')
            layouts[name] = get_layout(spec['layout']) if 'layout' in spec \
                else store.layout(name)
            scales[name] = float(spec.get('scale', 1.0))
            records[name] = store.conventions[name]
            if store.conventions[name]['num_joints'] != \
                    layouts[name].num_joints:
                raise ValueError(
                    f'{self.ann_file}: convention {name} stores '
                    f'{store.conventions[name]["num_joints"]} joints, layout '
                    f'{layouts[name].name} has {layouts[name].num_joints}')
        self._records = records
        return layouts, scales

    def _split_indices(self, splits: dict, num: int) -> np.ndarray:
        if self.split is None:
            return np.arange(num)
        if self.split not in splits:
            raise ValueError(f'{self.ann_file}: no split {self.split!r}; '
                             f'splits: {sorted(splits)}')
        return np.asarray(splits[self.split], dtype=np.int64)

    def _load_pickle(self):
        data = load_pickle(self.ann_file)
        if not isinstance(data, dict) or 'annotations' not in data:
            raise ValueError(f'{self.ann_file}: not an mmaction2 pose '
                             "annotation file (dict with 'annotations')")
        specs = self._parse_conventions()
        if not specs:
            raise ValueError(f'{self.ann_file}: a pickle source needs '
                             'conventions=[...] (the first describes its '
                             'keypoints)')
        known = {s['name'] for s in specs}
        specs += [dict(name=n) for n in self.extra_conventions if n not in known]
        main = specs[0]['name']
        annos = data['annotations']
        if self.split is not None:
            splits = data.get('split', {})
            if self.split not in splits:
                raise ValueError(f'{self.ann_file}: no split {self.split!r}; '
                                 f'splits: {sorted(splits)}')
            wanted = set(splits[self.split])
            annos = [a for a in annos if a['frame_dir'] in wanted]
        self.layouts = {
            s['name']: get_layout(s.get('layout', s['name']))
            for s in specs
        }
        self.scales = {s['name']: float(s.get('scale', 1.0)) for s in specs}
        extras = {}
        for spec in specs[1:]:
            name = spec['name']
            if name not in self.extra_conventions:
                raise ValueError(f'{self.ann_file}: convention {name!r} has '
                                 'no file in extra_conventions')
            extras[name] = (self.extra_conventions[name],
                            _load_mapping(self.extra_conventions[name]))
        arrays = {n: [] for n in self.layouts}
        scores, names, labels = [], [], []
        for anno in annos:
            clip = anno['frame_dir']
            missing = [(n, p) for n, (p, m) in extras.items() if clip not in m]
            if missing:
                if self.on_missing == 'error':
                    name, path = missing[0]
                    raise ValueError(f'{path}: clip {clip} missing in '
                                     f'convention {name}')
                self.num_skipped += 1
                continue
            arrays[main].append(anno['keypoint'])
            scores.append(anno.get('keypoint_score'))
            for name, (_, mapping) in extras.items():
                arrays[name].append(mapping[clip])
            names.append(clip)
            labels.append(int(anno['label']))
        if self.num_skipped:
            print_log(
                f'{self.ann_file}: skipped {self.num_skipped} clips '
                'missing from an extra convention',
                logger='current')
        self._records = None  # units unknown: the unit-free range check
        self._arrays = arrays
        self._scores = scores
        self._sources = {main: self.ann_file}
        self._sources.update({n: p for n, (p, _) in extras.items()})
        return names, labels

    # ------------------------------------------------------------- reading
    def _source(self, conv: str) -> str:
        if self.is_store:
            return osp.join(self.ann_file, conv)
        return self._sources[conv]

    def load_skeleton(self, pos: int, conv: str) -> np.ndarray:
        """Clip ``pos`` (position in this dataset) in convention ``conv`` as a
        checked ``(M, T, V, C)`` float32 array."""
        clip = int(self.clip_ids[pos])
        if self._arrays is None:
            try:
                kp = self._reader.get(clip, conv)
            except ValueError as err:
                raise ValueError(
                    str(err).replace(f'clip #{clip}', f'clip {self._name(pos)}')) \
                    from None
        else:
            kp = np.array(self._arrays[conv][clip], dtype=np.float32)
        if self.scales[conv] != 1.0:
            kp *= np.float32(self.scales[conv])
        return check_clip(kp, self.layouts[conv],
                          f'{self._source(conv)}: clip {self._name(pos)}, '
                          f'convention {conv}',
                          self._records is not None and
                          is_metric(self._records[conv]))

    def _validate_all(self) -> None:
        report = check_clips(self.load_skeleton, self.clip_names, self.layouts,
                             self.ann_file, records=self._records)
        if report.bad_clips and self.on_missing == 'error':
            raise ValueError(next(iter(report.bad_clips.values())))
        for msg in report.bad_clips.values():
            print_log(f'skipped: {msg}', logger='current')
        self.num_skipped += len(report.bad_clips)
        if report.disagreements:
            raise ValueError(f'{self.ann_file}: the conventions are not in one '
                             f'body frame:\n{report.format()}')
        keep = [p for p in range(len(self.clip_ids)) if p not in report.bad_clips]
        self.clip_ids = self.clip_ids[keep]
        self._names = self._names[keep]
        self.labels = self.labels[keep]

    # --------------------------------------------------------------- items
    @property
    def clip_names(self) -> List[str]:
        """Names of the clips, in dataset order (a new list)."""
        return [n.decode() for n in self._names]

    def _name(self, pos: int) -> str:
        return self._names[pos].decode()

    @property
    def num_clips(self) -> int:
        return len(self.clip_ids)

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        per_conv = self.mode in ('pretrain', 'single')
        return self.num_clips * (len(self.conv_names) if per_conv else 1)

    def pairs_of(self, indices: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`pair_of`: query and key convention positions
        (into ``conv_names``) of (possibly epoch-encoded) indices."""
        indices = np.asarray(indices, dtype=np.int64)
        length = len(self)
        epoch, item = np.divmod(indices, length)
        num_conv = len(self.conv_names)
        if self.mode in ('pretrain', 'single'):
            query = item // self.num_clips
        elif self.mode == 'all':
            return np.zeros_like(item), np.zeros_like(item)
        else:
            conv = self.reference if self.mode == 'reference' else self.mode
            query = np.full_like(item, self.conv_names.index(conv))
        if self.mode != 'pretrain':
            return query, query
        draw = mix64(
            mix64(mix64(np.uint64(self.seed)) ^ epoch.astype(np.uint64))
            ^ item.astype(np.uint64))
        if self.pairing == 'random':
            key = (draw % np.uint64(num_conv)).astype(np.int64)
        elif self.pairing == 'cross':
            key = (query + 1 +
                   (draw % np.uint64(num_conv - 1)).astype(np.int64)) % num_conv
        else:
            ref = self.conv_names.index(self.reference)
            key = np.where(query == ref, (draw % np.uint64(num_conv)).astype(np.int64),
                           ref)
        return query, key

    def pair_of(self, index: int) -> Tuple[str, str]:
        """``(query, key)`` convention names of item ``index`` (for the
        non-pretraining modes both are the item's convention; ``'all'`` gives
        the first convention twice)."""
        query, key = self.pairs_of([index])
        return self.conv_names[int(query[0])], self.conv_names[int(key[0])]

    def get_data_info(self, idx: int) -> dict:
        """The results dict of item ``idx`` (may be epoch-encoded).

        Returns:
            dict: ``clip_name``, ``label``, ``skeletons`` ``{conv: (M, T, V,
            C) float32}``, ``layouts`` ``{conv: layout name}``, ``views``
            ``{view: conv}``, ``total_frames`` ``{conv: T}``, ``sample_idx``,
            ``epoch``, ``seed``. Items of one convention also carry mmaction's keys
            ``keypoint``, ``skeleton`` (layout name), ``total_frames`` (int),
            ``frame_dir`` and, from a 2D pickle, ``keypoint_score``.
        """
        length = len(self)
        epoch, item = divmod(int(idx), length)
        pos = item % self.num_clips
        query, key = self.pairs_of([idx])
        query, key = self.conv_names[int(query[0])], self.conv_names[int(key[0])]
        if self.mode == 'pretrain':
            views = dict(query=query, query_extreme=query, key=key)
            roles = dict(query=query, key=key)
            views.update((v, roles[r]) for v, r in self.extra_views.items())
        elif self.mode == 'all':
            views = {c: c for c in self.conv_names}
        elif self.mode == 'single':
            # one view name for every item, so that batches mixing
            # conventions collate; each sample's convention is in its metainfo
            views = {'single': query}
        else:
            views = {query: query}
        convs = list(dict.fromkeys(views.values()))
        skeletons = {c: self.load_skeleton(pos, c) for c in convs}
        info = dict(
            clip_name=self._name(pos),
            frame_dir=self._name(pos),
            label=int(self.labels[pos]),
            skeletons=skeletons,
            layouts={c: self.layouts[c].name
                     for c in convs},
            views=views,
            total_frames={
                c: kp.shape[1]
                for c, kp in skeletons.items()
            },
            sample_idx=item,
            epoch=epoch,
            seed=self.seed)
        if len(views) == 1:
            info.update(
                keypoint=skeletons[query],
                skeleton=self.layouts[query].name,
                total_frames=skeletons[query].shape[1],
                start_index=0)
            if self._arrays is not None and query == self.conv_names[0] \
                    and self._scores[self.clip_ids[pos]] is not None:
                info['keypoint_score'] = np.asarray(
                    self._scores[self.clip_ids[pos]], dtype=np.float32)
        return info
