"""Every config in configs/ loads and builds its model and pipelines (base
fragments too); the NTU benchmark x stream x protocol family is complete,
each variant a few lines over its base, with the settings its name says;
the NTU pretraining config runs a few iterations on NTU-shaped data."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose

from mmaction.registry import MODELS, TRANSFORMS

from .conftest import ROOT

CONFIGS = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / 'configs').rglob('*.py'))

# The paper's benchmarks: (classes, store, split prefix).
NTU = {'ntu60_xsub': (60, 'ntu60', 'xsub'), 'ntu60_xview': (60, 'ntu60', 'xview'),
       'ntu120_xsub': (120, 'ntu120', 'xsub'),
       'ntu120_xset': (120, 'ntu120', 'xset')}
STREAMS = {'': 'joint', '_bone': 'bone', '_motion': 'motion'}
PROTOCOLS = ('linear_ms_aimclr_{}.py', 'linear_ms_aimclr_{}_ensemble.py',
             'linear_ms_aimclr_{}_transfer.py', 'semi_ms_aimclr_{}_1p.py',
             'semi_ms_aimclr_{}_10p.py', 'finetune_ms_aimclr_{}.py')
NTU_RE = re.compile(r'^(?P<kind>ms_aimclr|linear_ms_aimclr|semi_ms_aimclr|'
                    r'finetune_ms_aimclr|aimclr|linear_aimclr)_'
                    r'(?P<bench>ntu60_xsub|ntu60_xview|ntu120_xsub|ntu120_xset)(?P<stream>|_bone|_motion)'
                    r'(?P<variant>|_ensemble|_transfer|_1p|_10p)\.py$')
_BUILT = {}  # identical model / pipeline configs are built once


def test_config_inventory():
    names = {Path(c).name for c in CONFIGS}
    for required in ('aimclr_msr3d_xsub.py', 'ms_aimclr_msr3d_xsub.py',
                     'aimclr_bandai.py', 'ms_aimclr_bandai.py'):
        assert required in names
    for pku in ('pku1_xsub', 'pku1_xview', 'pku2_xsub', 'pku2_xview'):
        assert {f'ms_aimclr_{pku}.py', f'linear_ms_aimclr_{pku}.py'} <= names
    for bench in NTU:
        for stream in STREAMS:
            assert f'ms_aimclr_{bench}{stream}.py' in names
            for protocol in PROTOCOLS:
                assert protocol.format(bench + stream) in names
            # Table 1's AimCLR baseline rows
            assert {f'aimclr_{bench}{stream}.py',
                    f'linear_aimclr_{bench}{stream}.py'} <= names


@pytest.mark.parametrize('config, pairing, aligned', [
    ('demo/ms_aimclr_synthetic_aligned_cross.py', 'cross', True),
    ('demo/ms_aimclr_synthetic_aligned_cross_warmup.py', 'cross', True),
    ('ms_aimclr_msr3d_xsub_nowarmup.py', 'cross', True),
    ('ms_aimclr_msr3d_xsub.py', 'cross', True),
    ('ms_aimclr_bandai.py', 'cross', True),
    ('ms_aimclr_ntu60_xsub_aligned.py', 'cross', True),
    ('demo/ms_aimclr_synthetic.py', 'random', False),
    ('ms_aimclr_msr3d_xsub_paper_pairs.py', 'random', False),
    ('ms_aimclr_bandai_paper_pairs.py', 'random', False),
    ('aimclr_msr3d_xsub.py', 'random', False),
    ('ms_aimclr_bandai_cbn.py', 'random', False),
    ('ms_aimclr_ntu60_xsub.py', 'random', False),
])
def test_positives_of_each_config(config, pairing, aligned):
    """The main job's and the real-data MS-AimCLR take aligned
    cross-convention positives; their _paper_pairs configs, AimCLR, the
    ablation base and the paper's benchmarks keep the paper's (issue 21)."""
    dataset = Config.fromfile(str(ROOT / 'configs/msclr' / config)).train_dataloader.dataset
    assert dataset.pairing == pairing
    assert dataset.pipeline[0].get('replay') == (dict(key='query') if aligned else None)


@pytest.mark.parametrize('warm, plain, epochs', [
    ('demo/ms_aimclr_synthetic_aligned_cross_warmup.py',
     'demo/ms_aimclr_synthetic_aligned_cross.py', 1),
    ('demo/aimclr_synthetic_warmup.py', 'demo/aimclr_synthetic.py', 2),
    ('ms_aimclr_msr3d_xsub.py', 'ms_aimclr_msr3d_xsub_nowarmup.py', 4),
    ('aimclr_msr3d_xsub_warmup.py', 'aimclr_msr3d_xsub.py', 8),
    ('ms_aimclr_bandai.py', 'ms_aimclr_bandai_nowarmup.py', 4),
    ('aimclr_bandai_warmup.py', 'aimclr_bandai.py', 8),
])
def test_warmup_configs(warm, plain, epochs):
    """A warm-up config is its plain config with a linear warm-up, stepped
    every iteration, over the first eighth of its epochs in front of the
    same schedule, nothing else (issue 21); AimCLR's epochs hold half of
    MS-AimCLR's steps, so both warm up over the same steps."""
    warm = Config.fromfile(str(ROOT / 'configs/msclr' / warm)).to_dict()
    plain = Config.fromfile(str(ROOT / 'configs/msclr' / plain)).to_dict()
    first, *rest = warm.pop('param_scheduler')
    assert rest == plain.pop('param_scheduler')
    assert first == dict(type='LinearLR', start_factor=0.01, begin=0,
                         end=epochs, convert_to_iter_based=True)
    assert epochs * 8 == warm['train_cfg']['max_epochs']
    assert warm == plain


@pytest.mark.parametrize('config', [
    'ms_aimclr_msr3d_xsub_paper_pairs.py', 'ms_aimclr_bandai_paper_pairs.py',
    'aimclr_msr3d_xsub.py', 'aimclr_bandai.py'])
def test_real_data_paper_form(config):
    """The real-data configs ship the main job's recipe; their _paper_pairs
    (the base of AimCLR's) keep the paper's schedule: mining from 3/4 of
    training, no warm-up, the same steps (issue 21)."""
    cfg = Config.fromfile(str(ROOT / 'configs/msclr' / config))
    epochs = cfg.train_cfg.max_epochs
    assert cfg.model.mining_epoch == epochs * 3 // 4
    assert [s['type'] for s in cfg.param_scheduler] == ['MultiStepLR']
    assert cfg.param_scheduler[0]['milestones'] == [epochs * 7 // 8]


@pytest.mark.parametrize('suffix', ['msr3d_xsub', 'bandai'])
def test_real_data_linear_configs_match_their_encoders(suffix, monkeypatch):
    """Each real-data pretraining config and the linear config that
    tools/real_results.py pairs with it build the same backbone options
    (the output BN's statistics are checkpoint entries: a mismatch would
    refuse the checkpoint)."""
    from .test_tools_train import load_tool
    tool = load_tool('real_results')
    monkeypatch.chdir(ROOT)
    pairs = [(tool.config_of(method, suffix, name),
              tool.config_of(method, suffix, name, linear=True))
             for method, name in (('ms_aimclr', None), ('ms_aimclr', 'paper_pairs'),
                                  ('ms_aimclr', 'mining'), ('ms_aimclr', 'nowarmup'),
                                  ('ms_aimclr', 'cbn'), ('aimclr', None),
                                  ('aimclr', 'warmup'))]
    if suffix == 'msr3d_xsub':
        pairs.append(('configs/msclr/ms_crossclr_msr3d_xsub.py',
                      'configs/msclr/linear/linear_ms_crossclr_msr3d_xsub.py'))
    assert len({pre for pre, _ in pairs}) == len(pairs)
    for pre, linear in pairs:
        backbone = Config.fromfile(str(ROOT / pre)).model.backbone
        lin = Config.fromfile(str(ROOT / linear)).model.backbone
        for key in ('out_norm', 'per_convention_bn'):
            assert backbone.get(key, False) == lin.get(key, False), (pre, linear, key)
        assert backbone.graph_cfg.layouts == lin.graph_cfg.layouts, (pre, linear)


@pytest.mark.parametrize('variant, base, model', [
    ('demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining.py',
     'demo/ms_aimclr_synthetic_aligned_cross_warmup.py', dict(mining_epoch=8)),
    ('demo/aimclr_synthetic_warmup_nomining.py', 'demo/aimclr_synthetic_warmup.py',
     dict(mining_epoch=16)),
    ('demo/ms_aimclr_synthetic_aligned_cross_nomining.py',
     'demo/ms_aimclr_synthetic_aligned_cross.py', dict(mining_epoch=8)),
    ('ms_aimclr_msr3d_xsub.py', 'ms_aimclr_msr3d_xsub_mining.py', dict(mining_epoch=32)),
    ('ms_aimclr_bandai.py', 'ms_aimclr_bandai_mining.py', dict(mining_epoch=32)),
    ('demo/ms_aimclr_synthetic_aligned_cross_warmup_xmining.py',
     'demo/ms_aimclr_synthetic_aligned_cross_warmup.py',
     dict(mining_scope='other_convention')),
])
def test_mining_variants(variant, base, model):
    """A mining variant is its base with the model's mining settings changed,
    nothing else; without mining, mining_epoch is the last epoch (issue 21)."""
    variant = Config.fromfile(str(ROOT / 'configs/msclr' / variant)).to_dict()
    base = Config.fromfile(str(ROOT / 'configs/msclr' / base)).to_dict()
    assert variant['model'] == dict(base['model'], **model)
    if 'mining_epoch' in model:
        assert model['mining_epoch'] == variant['train_cfg']['max_epochs']
    variant.pop('model'), base.pop('model')
    assert variant == base


@pytest.mark.parametrize('variant, base', [
    ('demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm.py',
     'demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining.py'),
    ('demo/linear_ms_aimclr_synthetic_outnorm.py', 'demo/linear_ms_aimclr_synthetic.py'),
    ('demo/linear_ms_aimclr_synthetic_outnorm_precise_bn.py',
     'demo/linear_ms_aimclr_synthetic_precise_bn.py'),
    ('demo/aimclr_synthetic_warmup_outnorm.py', 'demo/aimclr_synthetic_warmup.py'),
    ('demo/linear_aimclr_synthetic_outnorm.py', 'demo/linear_aimclr_synthetic.py'),
])
def test_output_bn_variants(variant, base):
    """The per-convention output BN is its base with ``out_norm`` on the
    backbone, nothing else (issue 21)."""
    variant = Config.fromfile(str(ROOT / 'configs/msclr' / variant)).to_dict()
    base = Config.fromfile(str(ROOT / 'configs/msclr' / base)).to_dict()
    base['model']['backbone']['out_norm'] = True
    assert variant == base


@pytest.mark.parametrize('variant, base', [
    ('demo/linear_ms_aimclr_synthetic_outnorm_seqbn.py',
     'demo/linear_ms_aimclr_synthetic_outnorm_precise_bn.py'),
    ('linear/linear_ms_aimclr_msr3d_xsub_seqbn.py',
     'linear/linear_ms_aimclr_msr3d_xsub_precise_bn.py'),
    ('linear/linear_ms_aimclr_bandai_seqbn.py',
     'linear/linear_ms_aimclr_bandai_precise_bn.py'),
])
def test_sequential_precise_bn_variants(variant, base):
    """A sequential precise-BN config is its precise-BN base with
    ``precise_bn_per_convention='sequential'``, nothing else (issue 21)."""
    variant = Config.fromfile(str(ROOT / 'configs/msclr' / variant)).to_dict()
    base = Config.fromfile(str(ROOT / 'configs/msclr' / base)).to_dict()
    assert base.pop('precise_bn_per_convention') is True
    assert variant.pop('precise_bn_per_convention') == 'sequential'
    assert variant == base


@pytest.mark.parametrize('variant, base', [
    ('demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey.py',
     'demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm.py'),
    ('ms_aimclr_msr3d_xsub_samekey.py', 'ms_aimclr_msr3d_xsub.py'),
    ('ms_aimclr_bandai_samekey.py', 'ms_aimclr_bandai.py'),
])
def test_second_key_variants(variant, base):
    """A two-key MS-AimCLR is its base with the model's extra_key_view, the
    dataset's extra_views and that view's pipeline (the key's), nothing
    else (issue 21)."""
    variant = Config.fromfile(str(ROOT / 'configs/msclr' / variant)).to_dict()
    base = Config.fromfile(str(ROOT / 'configs/msclr' / base)).to_dict()
    base['model']['extra_key_view'] = 'key_same'
    dataset = base['train_dataloader']['dataset']
    dataset['extra_views'] = dict(key_same='query')
    views = dataset['pipeline'][0]['pipelines']
    views['key_same'] = views['key']
    assert variant == base


def test_annealed_second_key_variant():
    """The curriculum variant is the two-key config plus the hook that
    moves extra_key_weight from its value to 0 over training, nothing else."""
    demo = ROOT / 'configs/msclr/demo'
    variant = Config.fromfile(
        str(demo / 'ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey_anneal.py'))
    base = Config.fromfile(
        str(demo / 'ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey.py'))
    variant, base = variant.to_dict(), base.to_dict()
    base['default_hooks']['extra_key_weight'] = dict(
        type='LinearWeightScheduleHook', attr='extra_key_weight', end=0.)
    assert variant == base


def test_backbone_configs():
    """Every multi-skeleton backbone has MS-AimCLR and MoCo pretraining, a
    linear probe and mmaction2's supervised recipe, each a few lines over
    the ST-GCN (or mmaction2) config."""
    folder = ROOT / 'configs/msclr/backbones'
    backbones = {'stgcnpp': 'MSSTGCNPlusPlus', 'aagcn': 'MSAAGCN',
                 'ctrgcn': 'MSCTRGCN'}
    for name, kind in backbones.items():
        for config in ('ms_aimclr_{}_ntu60_xsub.py', 'ms_moco_{}_ntu60_xsub.py',
                       'linear_{}_ntu60_xsub.py',
                       'supervised_{}_ntu60_xsub.py'):
            path = folder / config.format(name)
            lines = [line for line in path.read_text().splitlines()
                     if line.strip() and not line.lstrip().startswith('#')]
            assert lines[0].startswith('_base_ = ') and len(lines) <= 7, path
            cfg = Config.fromfile(str(path))
            assert cfg.model.backbone.type == kind, path
            if config.startswith('supervised'):
                assert cfg.model.type == 'RecognizerGCN'  # mmaction2's own
            else:
                assert cfg.model.backbone.channels is None
                assert cfg.train_dataloader.dataset.split == 'xsub_train'


def _build_once(registry_build, cfg):
    key = json.dumps(cfg, sort_keys=True, default=str)
    if key not in _BUILT:
        _BUILT[key] = registry_build(cfg)
    return _BUILT[key]


def _build_model(model_cfg):
    model_cfg = dict(model_cfg)
    if 'queue_len' in model_cfg:
        model_cfg['queue_len'] = 256  # tiny override: the queue's size only
    return _build_once(MODELS.build, model_cfg)


def _registered(value, registry):
    kind = value.get('type') if isinstance(value, dict) else None
    return isinstance(kind, str) and kind in registry


def _is_pipeline(value):
    return isinstance(value, list) and value and all(
        _registered(t, TRANSFORMS) for t in value)


def _check_ntu(cfg, name, path):
    """The settings an NTU config's name promises."""
    match = NTU_RE.match(name)
    if match is None:
        return
    kind, bench, variant = match['kind'], match['bench'], match['variant']
    classes, store, split = NTU[bench]
    lines = [line for line in (ROOT / path).read_text().splitlines()
             if line.strip() and not line.lstrip().startswith('#')]
    # ntu60_xsub joint configs define the protocols; every other benchmark or
    # stream is a few lines over one of them, never a copy
    if bench != 'ntu60_xsub' or match['stream']:
        assert lines[0].startswith('_base_ = ') and len(lines) <= 6, name
    assert cfg.model.data_preprocessor.stream == STREAMS[match['stream']]
    pretrain = kind in ('ms_aimclr', 'aimclr')
    loaders = [cfg.train_dataloader] + ([] if pretrain else
                                       [cfg.val_dataloader, cfg.test_dataloader])
    for loader, part in zip(loaders, ('train', 'val', 'val')):
        assert loader.dataset.ann_file == f'data/stores/{store}_msclr', name
        assert loader.dataset.split == f'{split}_{part}', name
    if kind in ('aimclr', 'linear_aimclr'):  # the single-convention baseline
        assert cfg.model.backbone.graph_cfg.layouts == ['kinectv2_25'], name
        assert {tuple(loader.dataset.conventions) for loader in loaders} == \
            {('kinectv2_25', )}, name
    if pretrain:
        return
    assert cfg.model.cls_head.num_classes == classes
    backbone = cfg.model.backbone
    assert backbone.init_cfg.type == 'Pretrained'
    test_mode = cfg.test_dataloader.dataset.mode
    if kind == 'linear_aimclr':
        assert backbone.frozen_stages == 10 and test_mode == 'kinectv2_25'
    elif kind == 'linear_ms_aimclr':
        assert backbone.frozen_stages == 10
        modes = {'': ('kinectv2_25', 'kinectv2_25'),
                 '_ensemble': ('single', 'all'),
                 '_transfer': ('kinectv2_25', 'smplx_42')}[variant]
        assert (cfg.train_dataloader.dataset.mode, test_mode) == modes
        assert (cfg.model.cls_head.get('test_classifier') == 'kinectv2_25') \
            == (variant == '_transfer')
        # the rule behind the published ensemble numbers (authors' code)
        assert (cfg.model.cls_head.get('view_fusion') == 'logits') == \
            (variant == '_ensemble'), name
    else:
        assert backbone.frozen_stages == -1 and test_mode == 'kinectv2_25'
        fraction = {'_1p': 0.01, '_10p': 0.1, '': None}[variant]
        assert cfg.train_dataloader.dataset.label_fraction == fraction
        assert cfg.train_cfg.max_epochs == (70 if kind == 'finetune_ms_aimclr'
                                            else 60)


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds(path):
    cfg = Config.fromfile(str(ROOT / path))
    built = 0
    if not path.startswith('configs/_base_/'):  # a user-facing config
        assert cfg.custom_imports['imports'] == ['msclr_plugin']
    if 'model' in cfg:
        model = _build_model(cfg.model.to_dict())
        convs = model.backbone.graph.names
        graph_cfg = cfg.model.backbone.graph_cfg  # ours, or mmaction2's
        assert convs == list(graph_cfg.get('layouts') or [graph_cfg.layout])
        built += 1
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if key in cfg:
                dataset = cfg[key]['dataset']
                while 'pipeline' not in dataset:  # RepeatDataset & co.
                    dataset = dataset['dataset']
                _build_once(Compose, dataset['pipeline'].to_list()
                            if hasattr(dataset['pipeline'], 'to_list')
                            else list(dataset['pipeline']))
                assert set(dataset.get('conventions') or convs) >= set(convs) \
                    or dataset.get('mode') in convs
    # base fragments: every model part and every transform list they define
    for key, value in cfg.items():
        if key == 'model':
            continue
        if _registered(value, MODELS):
            _build_model(value.to_dict())
            built += 1
        elif _is_pipeline(value):
            _build_once(Compose, [dict(t) for t in value])
            built += 1
    assert built or path.endswith(('default_runtime.py', 'linear_sgd_100e.py',
                                   'pretrain_sgd_300e.py')), path
    _check_ntu(cfg, Path(path).name, path)


def _ntu_shaped_store(root, num_clips=8):
    from msclr_plugin.datasets.store import SkeletonStoreWriter
    rng = np.random.default_rng(0)
    with SkeletonStoreWriter(str(root), {
            'kinectv2_25': 'kinectv2_25',
            'smplx_42': dict(layout='smplx_42', scale=0.001)
    }) as writer:
        for i in range(num_clips):
            writer.add(f'S001C001P00{i}R001A00{i % 3 + 1}', i % 3, {
                'kinectv2_25': rng.normal(size=(2, 50, 25, 3)),
                'smplx_42': rng.normal(size=(2, 50, 42, 3)) * 1000,
            })
        writer.set_splits({'xsub_train': list(range(num_clips)),
                           'xsub_val': []})


def test_ntu_config_runs_on_ntu_shaped_data(tmp_path):
    from mmengine.runner import Runner
    _ntu_shaped_store(tmp_path / 'store')
    cfg = Config.fromfile(
        str(ROOT / 'configs/msclr/ms_aimclr_ntu60_xsub.py'))
    cfg.merge_from_dict({
        'work_dir': str(tmp_path / 'work'),
        'model.queue_len': 64,
        'train_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.ann_file': str(tmp_path / 'store'),
        'train_cfg.max_epochs': 1,
        'default_hooks.logger.interval': 1,
    })
    runner = Runner.from_cfg(cfg)
    runner.train()
    # 8 clips x 2 conventions, batches of one convention pair each
    assert runner.iter >= 3
    assert int(runner.model.queue_ptr) == (4 * runner.iter) % 64
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


def test_nw_ucla_and_transfer_configs():
    """NW-UCLA cross-view and NTU -> PKU-MMD II transfer: what the names
    promise."""
    linear = 'configs/msclr/linear/'
    for name in ('ms_aimclr_nw_ucla_xview', 'aimclr_nw_ucla_xview'):
        pre = Config.fromfile(str(ROOT / f'configs/msclr/{name}.py'))
        lin = Config.fromfile(str(ROOT / f'{linear}linear_{name}.py'))
        assert pre.train_dataloader.dataset.split == 'xview_train'
        assert pre.train_dataloader.dataset.ann_file == 'data/stores/nw_ucla'
        assert lin.model.cls_head.num_classes == 10
        assert (lin.train_dataloader.dataset.split, lin.test_dataloader.dataset.split) \
            == ('xview_train', 'xview_val')
        assert lin.test_dataloader.dataset.mode == 'msr_action3d_20'
        assert list(lin.model.backbone.graph_cfg.layouts) == \
            list(pre.model.backbone.graph_cfg.layouts)
    for source in ('ntu60_xsub', 'ntu120_xsub'):
        pre = Config.fromfile(str(ROOT / f'configs/msclr/ms_aimclr_{source}.py'))
        for protocol, frozen in (('linear', 10), ('finetune', -1)):
            cfg = Config.fromfile(str(
                ROOT / f'{linear}transfer_ms_aimclr_{source}_pku2_xsub_{protocol}.py'))
            assert cfg.model.backbone.init_cfg.checkpoint == \
                f'work_dirs/ms_aimclr_{source}/epoch_300.pth'
            assert cfg.model.backbone.frozen_stages == frozen
            assert cfg.model.cls_head.num_classes == 51
            for loader in ('train_dataloader', 'test_dataloader'):
                assert cfg[loader].dataset.ann_file == 'data/stores/pku2_msclr'
            # the pretraining's encoder loads: same conventions
            assert list(cfg.model.backbone.graph_cfg.layouts) == \
                list(pre.model.backbone.graph_cfg.layouts)
