"""MultiSkeletonDataset and ConventionGroupedBatchSampler."""
import pickle
from collections import Counter

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from msclr_plugin.datasets import (ConventionGroupedBatchSampler, MultiSkeletonDataset,
                                   SkeletonStoreWriter)


@pytest.fixture(autouse=True)
def mmaction_scope():
    # other tests may leave another default scope behind; build in mmaction's
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


CONVS = {'kinectv2_25': 25, 'msr_action3d_20': 20, 'smpl_24': 24}
PRETRAIN_PIPELINE = [
    dict(
        type='MSMultiView',
        common=[
            dict(type='MSResample', clip_len=12),
            dict(type='MSPersonPadding', num_person=2)
        ],
        pipelines=dict(
            query=[dict(type='MSTemporalCrop'),
                   dict(type='MSShear')],
            query_extreme=[
                dict(type='MSTemporalCrop'),
                dict(type='MSShear'),
                dict(type='MSSpatialFlip'),
                dict(type='MSRotate'),
                dict(type='MSGaussianNoise'),
                dict(type='MSGaussianBlur'),
                dict(type='MSAxisMask')
            ],
            key=[dict(type='MSTemporalCrop'),
                 dict(type='MSShear')])),
    dict(type='PackMultiSkeletonInputs')
]


def _clip(rng, num_joints, frames, persons=1):
    return rng.normal(size=(persons, frames, num_joints, 3)).astype(np.float32)


def make_store(root, num_clips=10, convs=CONVS, seed=0, bad=None):
    """A random store; ``bad(i, conv, kp)`` may alter a clip before writing.
    """
    rng = np.random.default_rng(seed)
    with SkeletonStoreWriter(str(root), {c: c for c in convs}) as writer:
        for i in range(num_clips):
            frames = int(rng.integers(8, 20))
            skeletons = {c: _clip(rng, v, frames) for c, v in convs.items()}
            if bad is not None:
                bad(i, skeletons)
            writer.add(f'clip{i:03d}', i % 3, skeletons)
        writer.set_splits({
            'train': list(range(0, num_clips, 2)),
            'val': list(range(1, num_clips, 2))
        })
    return str(root)


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / 'store')


def test_modes_and_lengths(store):
    num, convs = 10, list(CONVS)
    ds = MultiSkeletonDataset(store, mode='pretrain')
    assert len(ds) == num * 3 and ds.conv_names == convs
    for idx in (0, 9, 10, 29):
        info = ds.get_data_info(idx)
        assert info['clip_name'] == f'clip{idx % num:03d}'
        assert info['views']['query'] == convs[idx // num]
        assert info['views']['query_extreme'] == info['views']['query']
        assert set(info['skeletons']) == set(info['views'].values())
        for conv, kp in info['skeletons'].items():
            assert kp.dtype == np.float32 and kp.shape[2] == CONVS[conv]
    single = MultiSkeletonDataset(store, mode='single')
    assert len(single) == num * 3
    info = single.get_data_info(25)
    assert info['views'] == {'single': 'smpl_24'}
    assert info['keypoint'].shape[2] == 24 and info['skeleton'] == 'smpl_24'
    all_ds = MultiSkeletonDataset(store, mode='all')
    assert len(all_ds) == num
    assert all_ds.get_data_info(3)['views'] == {c: c for c in convs}
    ref = MultiSkeletonDataset(store, mode='reference')
    assert len(ref) == num
    assert ref.get_data_info(0)['views'] == {'kinectv2_25': 'kinectv2_25'}
    named = MultiSkeletonDataset(store, mode='msr_action3d_20', split='val')
    assert len(named) == 5
    info = named.get_data_info(0)
    assert info['clip_name'] == 'clip001'
    assert info['skeleton'] == 'msr_action3d_20'
    assert info['total_frames'] == info['keypoint'].shape[1]
    with pytest.raises(ValueError, match='mode'):
        MultiSkeletonDataset(store, mode='nope')
    with pytest.raises(ValueError, match='no split'):
        MultiSkeletonDataset(store, split='test')


def test_convention_selection_and_scale(store):
    ds = MultiSkeletonDataset(
        store, conventions=['smpl_24', dict(name='kinectv2_25', scale=0.5)])
    assert ds.conv_names == ['smpl_24', 'kinectv2_25']
    plain = MultiSkeletonDataset(store, mode='kinectv2_25')
    scaled = ds.load_skeleton(4, 'kinectv2_25')
    np.testing.assert_allclose(scaled, 0.5 * plain.load_skeleton(4, 'kinectv2_25'))
    with pytest.raises(ValueError, match="convention 'nope' is not in"):
        MultiSkeletonDataset(store, conventions=['nope'])
    with pytest.raises(ValueError, match='convention kinectv2_25 stores 25'):
        MultiSkeletonDataset(
            store, conventions=[dict(name='kinectv2_25', layout='smpl_24')])


def test_pairing_policies(store):
    num_conv, num = 3, 10

    def pairs(**kwargs):
        ds = MultiSkeletonDataset(store, **kwargs)
        idx = np.arange(len(ds) * 200)  # 200 epochs
        return ds.pairs_of(idx)

    query, key = pairs(pairing='random')
    assert (query == np.tile(np.repeat(np.arange(num_conv), num), 200)).all()
    same = (query == key).mean()
    assert abs(same - 1 / num_conv) < 0.03
    counts = np.bincount(key, minlength=num_conv) / len(key)
    assert np.abs(counts - 1 / num_conv).max() < 0.03
    query, key = pairs(pairing='cross')
    assert (query != key).all()
    for q in range(num_conv):
        share = np.bincount(key[query == q], minlength=num_conv) / (query == q).sum()
        assert share[q] == 0
        assert np.abs(share[np.arange(num_conv) != q] - 0.5).max() < 0.05
    query, key = pairs(pairing='reference', reference='msr_action3d_20')
    ref = 1
    assert (key[query != ref] == ref).all()
    share = np.bincount(key[query == ref], minlength=num_conv) / (query == ref).sum()
    assert np.abs(share - 1 / num_conv).max() < 0.05


def test_key_draw_depends_on_seed_epoch_index(store):
    ds = MultiSkeletonDataset(store)
    length = len(ds)
    _, key0 = ds.pairs_of(np.arange(length))
    _, key1 = ds.pairs_of(np.arange(length) + length)
    assert (key0 != key1).any()
    _, again = ds.pairs_of(np.arange(length))
    assert (key0 == again).all()
    _, other_seed = MultiSkeletonDataset(store, seed=1).pairs_of(np.arange(length))
    assert (key0 != other_seed).any()
    info = ds.get_data_info(length + 4)
    assert info['epoch'] == 1 and info['sample_idx'] == 4
    assert ds.pair_of(length + 4) == (info['views']['query'], info['views']['key'])


def test_label_fraction(tmp_path):
    store = make_store(tmp_path / 's', num_clips=30)
    ds = MultiSkeletonDataset(store, mode='reference', label_fraction=0.2)
    assert Counter(ds.labels.tolist()) == {0: 2, 1: 2, 2: 2}
    again = MultiSkeletonDataset(store, mode='reference', label_fraction=0.2)
    assert again.clip_names == ds.clip_names
    other = MultiSkeletonDataset(
        store, mode='reference', label_fraction=0.2, label_seed=3)
    assert other.clip_names != ds.clip_names


def _corrupt(store, conv, clip, value, keep_identity=True):
    """Overwrite a stored clip; ``keep_identity`` also rewrites its recorded
    CRC, as a writer storing bad values would."""
    import json
    import zlib
    off = np.load(f'{store}/{conv}_offsets.npy')
    data = np.load(f'{store}/{conv}.npy', mmap_mode='r+')
    data[off[clip]:off[clip + 1]] = value
    data.flush()
    if keep_identity:
        table = np.load(f'{store}/{conv}_clips.npy')
        with open(f'{store}/index.json') as f:
            name = json.load(f)['clip_names'][clip]
        table['crc32'][clip] = zlib.crc32(
            np.ascontiguousarray(data[off[clip]:off[clip + 1]]).data,
            zlib.crc32(name.encode()))
        np.save(f'{store}/{conv}_clips.npy', table)


def _synthetic_store(root):
    """10 clips whose conventions agree (the random ones do not)."""
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    generate_synthetic_store(
        str(root), num_clips_per_class_per_subject=1, num_subjects=5,
        classes=['punch', 'squat'], num_person=1)
    return str(root)


def test_bad_clips_name_clip_and_convention(tmp_path):
    store = _synthetic_store(tmp_path / 's')
    _corrupt(store, 'smpl_24', 3, np.nan)
    _corrupt(store, 'coco', 5, 0.0)
    ds = MultiSkeletonDataset(store, mode='all')
    ds.get_data_info(0)  # lazily checked: other clips still load
    with pytest.raises(ValueError, match='P002A004R001, convention smpl_24: NaN'):
        ds.get_data_info(3)
    with pytest.raises(ValueError, match='P003A004R001, convention coco: all '
                       'coordinates are zero'):
        ds.get_data_info(5)
    with pytest.raises(ValueError, match='P002A004R001'):
        MultiSkeletonDataset(store, mode='all', validate=True)
    kept = MultiSkeletonDataset(store, mode='all', validate=True, on_missing='skip')
    assert kept.num_skipped == 2 and len(kept) == 8
    assert 'SYN_P002A004R001' not in kept.clip_names
    # bytes changed behind the store's back: refused, naming store and clip
    _corrupt(store, 'smpl_24', 7, 0.5, keep_identity=False)
    with pytest.raises(ValueError, match=r'/s: convention smpl_24, clip '
                       'SYN_P004A004R001: the data is not the clip'):
        MultiSkeletonDataset(store, mode='all')
    ds._reader._verified['smpl_24'][7] = False  # as a clip not sampled at open
    with pytest.raises(ValueError, match='convention smpl_24, clip '
                       'SYN_P004A004R001: the data is not the clip'):
        ds.get_data_info(7)


def test_validate_refuses_conventions_in_other_frames(tmp_path):
    store = _synthetic_store(tmp_path / 's')
    for i in range(10):  # coco upside down in every clip
        off = np.load(f'{store}/coco_offsets.npy')
        data = np.load(f'{store}/coco.npy', mmap_mode='r')
        _corrupt(store, 'coco', i, data[off[i]:off[i + 1]] * [1, -1, 1])
    MultiSkeletonDataset(store, mode='all', conventions=['kinectv2_25', 'smpl_24'],
                         validate=True)
    with pytest.raises(ValueError, match='(?s)not in one body frame.*'
                       'kinectv2_25 vs coco: up median -0.9'):
        MultiSkeletonDataset(store, mode='all', validate=True)


def _pose_pickle(path, num=6, joints=25, seed=0):
    rng = np.random.default_rng(seed)
    annos = [
        dict(
            frame_dir=f'v{i}',
            label=i % 2,
            total_frames=10,
            keypoint=_clip(rng, joints, 10, persons=2)) for i in range(num)
    ]
    data = dict(
        split=dict(xsub_train=[f'v{i}' for i in range(4)], xsub_val=['v4', 'v5']),
        annotations=annos)
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return str(path)


def test_pickle_source_with_extra_conventions(tmp_path):
    ann = _pose_pickle(tmp_path / 'ntu.pkl')
    rng = np.random.default_rng(1)
    extra = {f'v{i}': _clip(rng, 24, 10) for i in range(6)}
    np.savez(tmp_path / 'smpl.npz', **extra)
    ds = MultiSkeletonDataset(
        ann,
        conventions=[dict(name='ntu', layout='nturgb+d')],
        extra_conventions=dict(smpl_24=str(tmp_path / 'smpl.npz')),
        split='xsub_train', seed=0)
    assert ds.conv_names == ['ntu', 'smpl_24'] and len(ds) == 8
    info = ds.get_data_info(5)  # clip v1 with query smpl_24
    assert info['views']['query'] == 'smpl_24'
    np.testing.assert_array_equal(info['skeletons']['smpl_24'], extra['v1'])
    assert info['layouts']['ntu'] == 'nturgb+d'
    # missing clip in an extra convention
    del extra['v2']
    np.savez(tmp_path / 'smpl_missing.npz', **extra)
    with pytest.raises(
            ValueError,
            match=r'smpl_missing\.npz: clip v2 missing in '
            'convention smpl_24'):
        MultiSkeletonDataset(
            ann,
            conventions=['nturgb+d'],
            extra_conventions=dict(smpl_24=str(tmp_path / 'smpl_missing.npz')))
    skip = MultiSkeletonDataset(
        ann,
        conventions=['nturgb+d'],
        extra_conventions=dict(smpl_24=str(tmp_path / 'smpl_missing.npz')),
        on_missing='skip')
    assert skip.num_skipped == 1 and 'v2' not in skip.clip_names
    # wrong joint count in an extra convention: lazily, naming all three
    extra['v2'] = _clip(rng, 20, 10)
    np.savez(tmp_path / 'smpl_bad.npz', **extra)
    bad = MultiSkeletonDataset(
        ann,
        conventions=['nturgb+d'],
        extra_conventions=dict(smpl_24=str(tmp_path / 'smpl_bad.npz')),
        mode='smpl_24')
    with pytest.raises(
            ValueError,
            match=r'smpl_bad\.npz: clip v2, convention smpl_24: '
            r'expected \(M, T, 24, C\)'):
        bad.get_data_info(2)
    with pytest.raises(ValueError, match='needs conventions'):
        MultiSkeletonDataset(ann)


def test_mmaction_pipeline_on_pickle_reference_mode(tmp_path):
    ann = _pose_pickle(tmp_path / 'ntu.pkl')
    ds = MultiSkeletonDataset(
        ann,
        conventions=['nturgb+d'],
        mode='reference',
        split='xsub_val',
        pipeline=[
            dict(type='PoseDecode'),
            dict(type='FormatGCNInput', num_person=2),
            dict(type='PackActionInputs')
        ])
    assert len(ds) == 2
    out = ds[1]
    assert tuple(out['inputs'].shape) == (1, 2, 10, 25, 3)
    assert out['data_samples'].gt_label.item() == 1


# aligned cross-convention positives (issue 21): the key replays the query's draws
ALIGNED_PIPELINE = [dict(PRETRAIN_PIPELINE[0], replay=dict(key='query')), *PRETRAIN_PIPELINE[1:]]


def _loader_cfg(store, num_workers, batch_size=4, seed=0, pipeline=PRETRAIN_PIPELINE,
                pairing='random'):
    return dict(
        batch_size=batch_size,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        sampler=dict(type='DefaultSampler', shuffle=True, seed=seed),
        batch_sampler=dict(type='ConventionGroupedBatchSampler'),
        collate_fn=dict(type='pseudo_collate'),
        dataset=dict(
            type='MultiSkeletonDataset', ann_file=store, pipeline=pipeline,
            pairing=pairing, seed=seed))


def test_grouped_batches_workers(store):
    loader = Runner.build_dataloader(_loader_cfg(store, num_workers=2))
    batch_sampler = loader.batch_sampler
    assert isinstance(batch_sampler, ConventionGroupedBatchSampler)
    dataset = loader.dataset
    pairs_per_epoch = []
    for epoch in range(3):
        batch_sampler.sampler.set_epoch(epoch)  # what DistSamplerSeedHook does
        assert batch_sampler.epoch == epoch
        seen, pairs, num_batches = [], {}, 0
        for batch in loader:
            num_batches += 1
            metas = [s.metainfo for s in batch['data_samples']]
            assert len({(m['conventions']['query'], m['conventions']['key'])
                        for m in metas}) == 1
            assert len({m['conventions']['query_extreme'] for m in metas}) == 1
            for m in metas:
                assert m['epoch'] == epoch
                seen.append(m['sample_idx'])
                pairs[m['sample_idx']] = (m['conventions']['query'],
                                          m['conventions']['key'])
            # pseudo_collate turns the per-sample dicts into {view: [...]}
            views = batch['inputs']
            assert set(views) == {'query', 'query_extreme', 'key'}
            for view, tensors in views.items():
                num_joints = CONVS[metas[0]['conventions'][view]]
                assert len(tensors) == len(metas)
                for tensor in tensors:
                    assert tuple(tensor.shape) == (2, 12, num_joints, 3)
        assert sorted(seen) == list(range(len(dataset)))
        assert num_batches == len(loader)
        for idx, pair in pairs.items():
            assert pair == dataset.pair_of(idx + epoch * len(dataset))
        pairs_per_epoch.append(pairs)
    assert pairs_per_epoch[0] != pairs_per_epoch[1]


def _rank_sampler(dataset, rank, world, seed=3):
    sampler = DefaultSampler(dataset, shuffle=True, seed=seed)
    sampler.rank, sampler.world_size = rank, world
    return sampler


@pytest.mark.parametrize('drop_last', [True, False])
@pytest.mark.parametrize('mix', [False, True])
def test_grouped_sampler_shares_pairs_across_ranks(tmp_path, drop_last, mix):
    """Two ranks of batch 4 train on the global batches of one process with
    batch 8: the same pair at every step, the same number of steps, equal
    batch sizes; every item of the epoch once (padding repeats items of the
    last batch only)."""
    dataset = MultiSkeletonDataset(make_store(tmp_path / 's', num_clips=37))
    kwargs = dict(drop_last=drop_last, mix_leftovers=mix)
    single = ConventionGroupedBatchSampler(_rank_sampler(dataset, 0, 1), 8, **kwargs)
    ranks = [ConventionGroupedBatchSampler(_rank_sampler(dataset, r, 2), 4, **kwargs)
             for r in range(2)]
    for epoch in (0, 3):
        for s in [single] + ranks:
            s.set_epoch(epoch)
        whole = list(single)
        shares = [list(r) for r in ranks]
        assert len(whole) == len(single) == len(shares[0]) == len(shares[1])
        assert [len(r) for r in ranks] == [len(whole)] * 2
        for batch, b0, b1 in zip(whole, *shares):
            assert len(b0) == len(b1) == -(-len(batch) // 2)
            assert set(b0 + b1) == set(batch)
            pairs = {dataset.pair_of(i) for i in batch}
            assert {dataset.pair_of(i) for i in b0 + b1} == pairs
            assert mix or len(pairs) == 1
            assert all(i // len(dataset) == epoch for i in batch)
        seen = [i for b in whole for i in b]
        assert len(seen) == len(set(seen))
        if not drop_last:
            assert len(seen) == len(dataset)
        if mix:  # a plain sampler's count, whatever the pairs drawn
            count = len(dataset) / 8
            assert len(whole) == (int(count) if drop_last else -(-len(dataset) // 8))
            assert sum(len({dataset.pair_of(i) for i in b}) > 1 for b in whole) >= 1
        else:
            counts = {}
            for i in range(len(dataset)):
                pair = dataset.pair_of(i + epoch * len(dataset))
                counts[pair] = counts.get(pair, 0) + 1
            full = sum(c // 8 for c in counts.values())
            assert len(whole) == full + (0 if drop_last else sum(
                c % 8 > 0 for c in counts.values()))
    with pytest.raises(TypeError, match='MultiSkeletonDataset'):
        ConventionGroupedBatchSampler(DefaultSampler(list(range(5))), 2)


def test_grouped_sampler_one_process_is_unchanged(store):
    """One process: plain bucketing of the sampler's own order, as before
    the several-process design (full buckets as they fill, leftovers last)."""
    dataset = MultiSkeletonDataset(store)
    sampler = DefaultSampler(dataset, shuffle=True, seed=5)
    sampler.set_epoch(2)
    order = list(sampler)
    expected, buckets = [], {}
    for index in order:
        bucket = buckets.setdefault(dataset.pair_of(index + 2 * len(dataset)), [])
        bucket.append(index + 2 * len(dataset))
        if len(bucket) == 4:
            expected.append(list(bucket))
            bucket.clear()
    expected += [b for b in buckets.values() if b]
    assert list(ConventionGroupedBatchSampler(sampler, 4)) == expected


def _read_msr(path):
    values = np.loadtxt(path, dtype=np.float32)
    kp = values.reshape(-1, 20, 4)[..., :3]  # (T, V, xyz); drop confidence
    return kp[None]  # (M=1, T, V, C)


def test_real_msr_store_pretraining(shared_data, tmp_path):
    files = sorted((shared_data / 'msr_action3d' /
                    'real_world_coordinates').glob('a0[1-2]_s0[1-2]_e01*.txt'))
    assert len(files) == 4
    root = tmp_path / 'msr'
    convs = {
        'msr_action3d_20': 'msr_action3d_20',
        'msr_copy': dict(layout='msr_action3d_20', scale=1.0)
    }
    with SkeletonStoreWriter(str(root), convs) as writer:
        for path in files:
            kp = _read_msr(path)
            writer.add(path.name[:11],
                       int(path.name[1:3]) - 1, {
                           'msr_action3d_20': kp,
                           'msr_copy': kp
                       })
    pipeline = [dict(PRETRAIN_PIPELINE[0]), PRETRAIN_PIPELINE[1]]
    pipeline[0]['common'] = [
        dict(type='MSPreNormalize'),
        dict(type='MSResample', clip_len=50),
        dict(type='MSPersonPadding', num_person=2)
    ]
    dataset = MultiSkeletonDataset(str(root), pipeline=pipeline, validate=True)
    loader = DataLoader(
        dataset,
        batch_sampler=ConventionGroupedBatchSampler(
            DefaultSampler(dataset, shuffle=True, seed=0), 2),
        num_workers=2,
        collate_fn=pseudo_collate)
    seen = []
    for batch in loader:
        for data_sample in batch['data_samples']:
            seen.append(data_sample.metainfo['sample_idx'])
            assert data_sample.metainfo['skeletons']['key'] == \
                'msr_action3d_20'
        for view, tensors in batch['inputs'].items():
            for tensor in tensors:
                assert tuple(tensor.shape) == (2, 50, 20, 3)
                assert tensor.isfinite().all() and tensor[0].abs().sum() > 0
                if view != 'query_extreme':  # noise reaches padded persons
                    assert tensor[1].abs().sum() == 0
    assert sorted(seen) == list(range(8))


def test_single_mode_batches_mixing_conventions_collate(tmp_path):
    """Per-convention probe training: a batch holds clips of several
    conventions; it must collate and reach the recognizer's head."""
    from mmengine.dataset import pseudo_collate

    from msclr_plugin.models.data_preprocessors import \
        MultiSkeletonDataPreprocessor
    from msclr_plugin.datasets import MultiSkeletonDataset
    from msclr_plugin.datasets.store import SkeletonStoreWriter
    rng = np.random.default_rng(0)
    with SkeletonStoreWriter(str(tmp_path / 's'), {
            'kinectv2_25': 'kinectv2_25', 'coco': 'coco'}) as writer:
        for i in range(3):
            writer.add(f'c{i}', i, {
                'kinectv2_25': rng.normal(size=(1, 8, 25, 3)),
                'coco': rng.normal(size=(1, 8, 17, 3))})
    ds = MultiSkeletonDataset(
        str(tmp_path / 's'), mode='single',
        pipeline=[dict(type='MSMultiView', default=[]),
                  dict(type='PackMultiSkeletonInputs')])
    batch = pseudo_collate([ds[i] for i in range(len(ds))])
    data = MultiSkeletonDataPreprocessor()(batch)
    assert data['inputs']['single'].shape == (6, 1, 8, 25, 3)
    assert sorted(s.metainfo['skeletons']['single']
                  for s in data['data_samples']) == ['coco'] * 3 + [
                      'kinectv2_25'] * 3


@pytest.mark.parametrize('pipeline, pairing', [(PRETRAIN_PIPELINE, 'random'),
                                               (ALIGNED_PIPELINE, 'cross')])
def test_augmentation_is_a_function_of_seed_epoch_and_item(store, pipeline, pairing):
    """Each item's random views depend on (seed, epoch, index) only: the same
    with 0 or 2 workers and in any order; another epoch or seed differs (also
    with aligned positives, whose key replays the query's draws)."""
    def batches(num_workers, seed=0, epoch=0):
        loader = Runner.build_dataloader(_loader_cfg(store, num_workers, seed=seed,
                                                     pipeline=pipeline, pairing=pairing))
        loader.batch_sampler.set_epoch(epoch)
        items = {}
        for batch in loader:
            for i, sample in enumerate(batch['data_samples']):
                items[sample.metainfo['sample_idx']] = {
                    view: values[i].numpy() for view, values in batch['inputs'].items()}
        return items

    ref = batches(0)
    assert len(ref) == 30
    items = batches(2)
    assert items.keys() == ref.keys()
    for idx, views in items.items():
        for view, value in views.items():
            np.testing.assert_array_equal(value, ref[idx][view])
    other_epoch = batches(0, epoch=1)
    assert any(not np.array_equal(other_epoch[i]['query'], ref[i]['query']) for i in ref)
    ds = MultiSkeletonDataset(store, pipeline=pipeline, pairing=pairing, seed=5)
    assert not np.array_equal(ds[0]['inputs']['query'].numpy(), ref[0]['query'])


def test_extra_views_render_the_query_or_key_convention(store):
    """extra_views: a view per role, in that role's convention, with its own
    draws; the three views draw exactly as without it (through workers and
    the stacked collate, as training batches them)."""
    views = dict(PRETRAIN_PIPELINE[0]['pipelines'])
    views.update(key_same=views['key'], key_copy=views['key'])
    pipeline = [dict(ALIGNED_PIPELINE[0], pipelines=views), *ALIGNED_PIPELINE[1:]]
    plain = MultiSkeletonDataset(store, pipeline=ALIGNED_PIPELINE, pairing='cross', seed=3)
    extra = MultiSkeletonDataset(store, pipeline=pipeline, pairing='cross', seed=3,
                                 extra_views=dict(key_same='query', key_copy='key'))
    for i in (0, 13, 27):
        a, b = plain[i], extra[i]
        for view in ('query', 'query_extreme', 'key'):
            np.testing.assert_array_equal(a['inputs'][view].numpy(), b['inputs'][view].numpy())
        conv = b['data_samples'].metainfo['skeletons']
        assert conv['key_same'] == conv['query'] != conv['key'] == conv['key_copy']
        assert b['inputs']['key_same'].shape == b['inputs']['query'].shape
        # own draws: neither a copy of the query nor of the aligned key
        assert not np.array_equal(b['inputs']['key_same'].numpy(), b['inputs']['query'].numpy())
    cfg = _loader_cfg(store, num_workers=2, pipeline=pipeline, pairing='cross')
    cfg['dataset']['extra_views'] = dict(key_same='query', key_copy='key')
    cfg['collate_fn'] = dict(type='multi_skeleton_collate')
    batch = next(iter(Runner.build_dataloader(cfg)))
    assert {'query', 'query_extreme', 'key', 'key_same', 'key_copy'} <= set(batch['inputs'])
    for bad in (dict(key='query'), dict(key_same='extreme')):
        with pytest.raises(ValueError, match='extra_views'):
            MultiSkeletonDataset(store, extra_views=bad)
