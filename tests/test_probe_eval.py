"""Frozen-encoder evaluations from one feature extraction: cross-convention
retrieval, the probe on cached features (scale-free), tools/probe_eval.py
with the random-encoder control of tools/train.py --init-only, and the
progress lines of the jobs."""
import io
import json

import numpy as np
import pytest
import torch

from mmaction.registry import MODELS
from msclr_plugin.evaluation.knn import retrieval_ranks, retrieval_report
from msclr_plugin.evaluation.probe import probe_reports, train_probe_head
from msclr_plugin.utils.jobs import progress_of
from msclr_plugin.utils.progress import ProgressLine
from .conftest import ROOT
from .test_tools_train import load_tool


def test_retrieval_hand_example():
    query = torch.tensor([[1., 0], [0, 1], [1, 1]])
    gallery = torch.tensor([[1., 0.1], [0.1, 1], [-1, -1]])
    # clip 0 and 1 find their own rendering first; clip 2's rendering is
    # the least similar of the three for its query
    assert retrieval_ranks(query, gallery).tolist() == [1, 1, 3]
    report = retrieval_report(query, gallery, topk=(1, 2))
    assert report['top1'] == pytest.approx(2 / 3) and report['top2'] == pytest.approx(2 / 3)
    assert report['median_rank'] == 1 and report['mean_rank'] == pytest.approx(5 / 3)
    assert report['num_items'] == 3
    # a constant encoder retrieves nothing: ties rank the right item last
    assert retrieval_ranks(torch.ones(4, 3), torch.ones(4, 3)).tolist() == [4] * 4
    # chunks give the same ranks
    a, b = torch.randn(10, 5), torch.randn(10, 5)
    assert torch.equal(retrieval_ranks(a, b, chunk_size=3), retrieval_ranks(a, b))
    with pytest.raises(ValueError, match='same items'):
        retrieval_ranks(a, b[:9])
    # repeated takes: clip 1's rendering loses to clip 0's (a take of the
    # same performance) unless the query's group-mates leave its gallery
    query = torch.tensor([[1., 0], [1, 0.2], [0, 1]])
    gallery = torch.tensor([[1., 0.05], [1, 0.5], [0, 1]])
    assert retrieval_ranks(query, gallery).tolist() == [1, 2, 1]
    groups = torch.tensor([7, 7, 3])
    assert retrieval_ranks(query, gallery, groups=groups).tolist() == [1, 1, 1]
    report = retrieval_report(query, gallery, groups=groups)
    assert report['top1'] == 1 and report['mean_gallery'] == pytest.approx(7 / 3)
    # singleton groups change nothing
    assert torch.equal(retrieval_ranks(a, b, groups=torch.arange(10)), retrieval_ranks(a, b))
    with pytest.raises(ValueError, match='groups of shape'):
        retrieval_ranks(a, b, groups=torch.arange(9))


def _cached(scale, seed=0):
    """Two conventions of 3-class features: class means far apart, a large
    offset common to every clip (as a random encoder's features have)."""
    labels = torch.arange(60) % 3
    means = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(seed + 1)
    offset = 20 * torch.ones(16)
    out = {}
    for conv in ('kinectv2_25', 'coco'):
        feats = offset + means[labels] + 0.3 * torch.randn(60, 16, generator=g)
        out[conv] = (scale * feats, labels)
    return out


@pytest.mark.parametrize('scale', [1.0, 1e-7])
def test_probe_on_cached_features_is_scale_free(scale):
    head = MODELS.build(
        dict(type='MSLinearHead', num_classes=3, in_channels=16,
             skeletons=['kinectv2_25', 'coco'], feat_norm=True))
    head.init_weights()
    train, test = _cached(scale, 0), _cached(scale, 1)
    train_probe_head(head, train, epochs=5, batch_size=16,
                     optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9)),
                     param_scheduler=[dict(type='MultiStepLR', milestones=[4])])
    assert not head.training
    reports = probe_reports(head, test, 'kinectv2_25')
    assert set(reports) == {'linear', 'ensemble', 'transfer_to_coco'}
    # features 1e-7 in scale are classified as well as features of scale 1
    for report in reports.values():
        assert report['top1'] == 1.0


def test_init_only_and_probe_eval_tool(tmp_path):
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    store = tmp_path / 'syn'
    generate_synthetic_store(str(store), num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat', 'jump'])
    small = ['model.backbone.channels=(4,4,8,8)', 'model.backbone.num_stages=4',
             'model.backbone.down_stages=(3,)']
    train = load_tool('train')
    ckpts = []
    for seed in (0, 0, 1):
        work = tmp_path / f'init{len(ckpts)}'
        train.main([str(ROOT / 'configs/msclr/demo/ms_aimclr_synthetic.py'), '--work-dir', str(work),
                    '--seed', str(seed), '--init-only', '--cfg-options', *small,
                    'model.neck.in_channels=8', 'model.neck.hid_channels=8'])
        ckpts.append(torch.load(work / 'epoch_0.pth', weights_only=True)['state_dict'])
    key = 'backbone.gcn.1.tcn.conv.weight'
    # seeded: the same seed gives the same encoder, another seed another;
    # the key encoder starts as a copy of the query encoder
    assert torch.equal(ckpts[0][key], ckpts[1][key])
    assert not torch.equal(ckpts[0][key], ckpts[2][key])
    assert torch.equal(ckpts[0][key], ckpts[0]['momentum_' + key])

    out = tmp_path / 'probe.json'
    tool = load_tool('probe_eval')
    result = tool.main([
        str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'),
        str(tmp_path / 'init0' / 'epoch_0.pth'), '--out', str(out),
        '--dump-dir', str(tmp_path / 'scores'), '--cfg-options',
        *small, 'model.cls_head.num_classes=3', 'model.cls_head.in_channels=8',
        f'train_dataloader.dataset.ann_file={store}', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_dataloader.batch_size=4',
        f'test_dataloader.dataset.ann_file={store}', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=2'])
    saved = json.loads(out.read_text())
    assert saved['num_train'] == 9 and saved['num_test'] == 3  # subjects 1-3 / 4
    assert saved['reference'] == 'kinectv2_25'
    for key in ('linear', 'ensemble', 'transfer_to_coco', 'knn'):
        assert 0 <= saved[key]['top1'] <= 1
    assert set(saved['retrieval']) == {'kinectv2_25->coco', 'coco->kinectv2_25'}
    assert saved['retrieval']['coco->kinectv2_25']['num_items'] == 3
    assert result['linear'] == saved['linear']
    # the map before pooling over joints: one 8-d feature per joint, probed as the
    # raw joints are (reference only), retrieval on the 12 joints shared by name
    unpooled = tool.main([
        str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'),
        str(tmp_path / 'init0' / 'epoch_0.pth'), '--pool', 'time', '--cfg-options',
        *small, 'model.cls_head.num_classes=3', 'model.cls_head.in_channels=8',
        f'train_dataloader.dataset.ann_file={store}', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_dataloader.batch_size=4',
        f'test_dataloader.dataset.ann_file={store}', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=2'])
    assert saved['precise_bn'] is None and unpooled['precise_bn'] is None
    # the sequential precise BN, from the command line (the config's value
    # otherwise: precise_bn_mode)
    seq = tool.main([
        str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'),
        str(tmp_path / 'init0' / 'epoch_0.pth'), '--recalibrate-bn', 'sequential',
        '--cfg-options', *small, 'model.cls_head.num_classes=3',
        'model.cls_head.in_channels=8', f'train_dataloader.dataset.ann_file={store}',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=4', f'test_dataloader.dataset.ann_file={store}',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=2'])
    assert seq['precise_bn'] == 'sequential' and 0 <= seq['linear']['top1'] <= 1
    assert unpooled['pool'] == 'time' and 'ensemble' not in unpooled
    assert 0 <= unpooled['linear']['top1'] <= 1 and 'convention_probe' in unpooled
    assert set(unpooled['retrieval']) == {'kinectv2_25->coco', 'coco->kinectv2_25'}
    # invariance: the convention probe on held-out clips, the mean cosines
    assert saved['convention_probe']['chance'] == 0.5
    assert 0 <= saved['convention_probe']['top1'] <= 1
    assert set(saved['cosines']) == {'same_clip_other_conv', 'other_clip_same_conv',
                                     'other_clip_other_conv'}
    assert saved['centred'] is False and saved['convention_mixing']['k'] == 5  # 6 items
    assert 0 <= saved['convention_mixing']['score'] <= 1
    # the dumps are tools/test.py's: raw scores for stream fusion, and the
    # probabilities give the JSON's accuracy
    from msclr_plugin.evaluation.fusion import load_dump
    raw, labels, _ = load_dump(str(tmp_path / 'scores' / 'ensemble_scores.pkl'))
    prob, _, _ = load_dump(str(tmp_path / 'scores' / 'ensemble_scores.pkl'), scores='prob')
    assert np.allclose(prob, torch.from_numpy(np.asarray(raw)).softmax(1).numpy(), atol=1e-6)
    assert np.isclose((np.asarray(prob).argmax(1) == labels).mean(), saved['ensemble']['top1'])


def test_precise_bn_mode_of_a_config():
    from mmengine.config import Config
    tool = load_tool('probe_eval')
    demo = ROOT / 'configs/msclr/demo'
    assert tool.precise_bn_mode(Config.fromfile(str(demo / 'linear_ms_aimclr_synthetic.py')),
                                'a.py') is None
    assert tool.precise_bn_mode(Config.fromfile(
        str(demo / 'linear_ms_aimclr_synthetic_outnorm_precise_bn.py')), 'a.py') == 'train'
    assert tool.precise_bn_mode(Config.fromfile(
        str(demo / 'linear_ms_aimclr_synthetic_outnorm_seqbn.py')), 'a.py') == 'sequential'
    with pytest.raises(SystemExit, match=r"bad\.py: precise_bn_per_convention='eval'"):
        tool.precise_bn_mode(Config(dict(precise_bn_per_convention='eval')), 'bad.py')


def test_convention_probe_and_pair_cosines():
    from msclr_plugin.evaluation.invariance import convention_probe, pair_cosines
    train, test = _cached(1.0, 0), _cached(1.0, 1)
    # the same features in both conventions: nothing tells them apart
    same = {c: train['kinectv2_25'] for c in train}
    probe = convention_probe(same, {c: test['kinectv2_25'] for c in test})
    assert probe['chance'] == 0.5 and probe['top1'] == pytest.approx(0.5)
    # an offset per convention (as BN statistics of one convention leave):
    # told apart on other clips
    shifted = {c: (f + 3 * i, y) for i, (c, (f, y)) in enumerate(train.items())}
    held_out = {c: (f + 3 * i, y) for i, (c, (f, y)) in enumerate(test.items())}
    assert convention_probe(shifted, held_out)['top1'] == 1.0
    # hand example: clip i's renderings agree, clips are orthogonal
    eye = torch.eye(3)
    cos = pair_cosines({'a': (eye, None), 'b': (eye + 0.0, None)})
    assert cos == dict(other_clip_same_conv=0.0, same_clip_other_conv=pytest.approx(1.0),
                       other_clip_other_conv=0.0)
    flipped = pair_cosines({'a': (eye, None), 'b': (-eye, None)})
    assert flipped['same_clip_other_conv'] == pytest.approx(-1.0)
    # the closed forms equal the mean over explicit pairs
    a, b = torch.randn(5, 4), torch.randn(5, 4)
    sim = torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T
    off = ~torch.eye(5, dtype=torch.bool)
    cos = pair_cosines({'a': (a, None), 'b': (b, None)})
    assert cos['same_clip_other_conv'] == pytest.approx(float(sim.diagonal().mean()))
    assert cos['other_clip_other_conv'] == pytest.approx(float(sim[off].mean()))


def test_convention_mixing_and_centring():
    from msclr_plugin.evaluation.invariance import (centre_per_convention, convention_mixing,
                                                    convention_probe)
    # hand example, k=1: a0's nearest is b0, a1's a0 (b1 points away), b0's
    # a0, b1's a1: 3 of 4 from the other convention; chance 2/3
    a = torch.tensor([[1., 0.], [1., 0.2]])
    b = torch.tensor([[1., -0.05], [0.2, 1.]])
    mix = convention_mixing({'a': (a, None), 'b': (b, None)}, k=1)
    assert mix['other_convention_fraction'] == 0.75
    assert mix['chance_fraction'] == pytest.approx(2 / 3)
    assert mix['score'] == pytest.approx(0.75 * 3 / 2)
    # k beyond the pool: every other item, a third from the own convention
    everything = convention_mixing({'a': (a, None), 'b': (b, None)}, k=20)
    assert everything['k'] == 3 and everything['score'] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='two conventions'):
        convention_mixing({'a': (a, None)})
    # a clip's renderings alike: mixed; an offset per convention: apart
    train, test = _cached(1.0, 0), _cached(1.0, 1)
    same = {c: test['kinectv2_25'] for c in test}
    assert convention_mixing(same)['score'] > 0.9
    offset = 30 * torch.cat([torch.ones(8), -torch.ones(8)])
    shifted = {c: (f + i * offset, y) for i, (c, (f, y)) in enumerate(test.items())}
    shifted_train = {c: (f + i * offset, y) for i, (c, (f, y)) in enumerate(train.items())}
    assert convention_mixing(shifted)['score'] == 0
    # centring with the training means removes the offset exactly (the test
    # clips never enter a mean), and the linear probe is then at chance
    centred_train, centred = centre_per_convention(shifted_train, shifted)
    plain_train, plain = centre_per_convention(train, test)
    for conv in test:
        assert torch.allclose(centred[conv][0], plain[conv][0], atol=1e-4)
        assert centred_train[conv][0].mean(0).abs().max() < 1e-4
    assert convention_mixing(centred)['score'] > 0.5
    assert convention_probe(centred_train, centred)['top1'] == 0.5


def test_raw_joints_control(tmp_path):
    """tools/probe_eval.py --raw-joints: the pipeline's coordinates as the
    features, the joints Kinect and COCO share by name for retrieval."""
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    store = tmp_path / 'syn'
    generate_synthetic_store(str(store), num_clips_per_class_per_subject=2,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat', 'jump'])
    loaders = [f'{loader}.{key}' for loader in ('train_dataloader', 'test_dataloader')
               for key in (f'dataset.ann_file={store}', 'num_workers=0',
                           'persistent_workers=False')]
    tool = load_tool('probe_eval')
    with pytest.raises(SystemExit):
        tool.parse_args([str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py')])
    result = tool.main([str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'),
                        '--raw-joints', '--out', str(tmp_path / 'raw.json'), '--cfg-options',
                        'model.cls_head.num_classes=3', 'train_cfg.max_epochs=20', *loaders])
    assert result['checkpoint'] == 'raw joints'
    assert result['num_train'] == 18 and result['num_test'] == 6
    # one probe: the reference's (the conventions' coordinates differ in size)
    assert 'ensemble' not in result and not any(k.startswith('transfer') for k in result)
    assert result['linear']['top1'] >= 0.5 and result['knn']['top1'] >= 0.5  # chance 1/3
    # a clip's other rendering, by its 12 shared joints: found first
    assert set(result['retrieval']) == {'kinectv2_25->coco', 'coco->kinectv2_25'}
    assert result['retrieval']['kinectv2_25->coco']['top1'] == 1.0
    assert result['convention_probe']['chance'] == 0.5
    cos = result['cosines']
    assert cos['same_clip_other_conv'] > cos['other_clip_other_conv']
    # each convention's training mean removed from its coordinates before
    # every test but the convention probe (which would be at chance)
    centred = tool.main([str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'),
                         '--raw-joints', '--centre-conventions', '--repeat-takes', r'R\d+$',
                         '--cfg-options',
                         'model.cls_head.num_classes=3', 'train_cfg.max_epochs=20', *loaders])
    assert centred['centred'] and result['centred'] is False
    assert centred['convention_probe'] == result['convention_probe']
    assert centred['cosines'] != cos and centred['knn'] != result['knn']
    assert centred['retrieval']['kinectv2_25->coco']['top1'] == 1.0
    # --repeat-takes: SYN_P004A001R001 and ..R002 are one performance; each
    # test clip ranks among its own rendering and the 4 of the other groups
    repeats = centred['retrieval_without_repeats']['kinectv2_25->coco']
    assert repeats['top1'] == 1.0 and repeats['mean_gallery'] == 5
    assert 'retrieval_without_repeats' not in result
    with pytest.raises(SystemExit, match='not a regular expression'):
        tool.repeat_groups({}, 'R(')
    with pytest.raises(SystemExit, match='groups none of the 6 test clips'):
        tool.main([str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'),
                   '--raw-joints', '--repeat-takes', 'no-such-suffix$', '--cfg-options',
                   'model.cls_head.num_classes=3', 'train_cfg.max_epochs=1', *loaders])


def test_progress_lines():
    stream = io.StringIO()
    bar = ProgressLine('extract', 4, 'clips', every=3600, stream=stream)
    for _ in range(4):
        bar.update()
    lines = stream.getvalue().splitlines()
    # the first and the last update print, those between are throttled
    assert len(lines) == 2 and lines[0].startswith('extract: 1/4 clips')
    assert 'eta' in lines[0] and lines[1].startswith('extract: 4/4 clips')
    line = ('12/01 17:37:36 - mmengine - INFO - Epoch(train) [1][7/16]  lr: 1.0000e-01  '
            'eta: 0:00:42  time: 3.6049  data_time: 0.1507  loss: 9.0044  nce_top1: 0.03')
    assert progress_of(line) == 'Epoch(train) [1][7/16] eta 0:00:42 loss 9.0044'
    assert progress_of('[probe_eval] linear top-1 50.0, top-5 90.0') is not None
    assert progress_of('12/01 - mmengine - INFO - Checkpoints will be saved') is None
