"""tools/train.py and tools/test.py: argument handling, and a tiny MSAimCLR
pretraining run through mmengine's Runner that resumes exactly."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

import msclr_plugin  # noqa: F401
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmaction.registry import DATASETS, HOOKS
from mmengine.hooks import Hook
from mmaction.structures import ActionDataSample

MMLogger.get_current_instance().setLevel('WARNING')
TOOLS = Path(__file__).resolve().parents[1] / 'tools'


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@DATASETS.register_module(force=True)
class _ToyPretrainViews(Dataset):
    """Eight random clips packed like PackMultiSkeletonInputs' output."""

    def __init__(self, num=8, key='smplx_42'):
        g = torch.Generator().manual_seed(0)
        self.items = []
        for i in range(num):
            sample = ActionDataSample().set_gt_label(i % 2)
            sample.set_metainfo(
                dict(
                    clip_name=f'clip{i}',
                    skeletons=dict(
                        query='kinectv2_25', query_extreme='kinectv2_25', key=key)))
            inputs = dict(
                query=torch.randn(2, 12, 25, 3, generator=g),
                query_extreme=torch.randn(2, 12, 25, 3, generator=g),
                key=torch.randn(2, 12, 42, 3, generator=g))
            self.items.append(dict(inputs=inputs, data_samples=sample))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


TINY_MODEL = """
model = dict(
    type='MSAimCLR',
    data_preprocessor=dict(type='MultiSkeletonDataPreprocessor'),
    backbone=dict(
        type='MSSTGCN',
        graph_cfg=dict(type='MultiSkeletonGraph', layouts={layouts!r}),
        channels=(8, 8, 16, 16), num_stages=4, down_stages=(3, ),
        tcn_dropout=0.5),
    neck=dict(type='MSProjectionNeck', in_channels=16, hid_channels=16,
              out_channels=8),
    feat_dim=8, queue_len=24, mining_epoch={mining_epoch})
"""

CONFIG = """
default_scope = 'mmaction'
""" + TINY_MODEL.format(layouts=['kinectv2_25', 'smplx_42'], mining_epoch=1) + '''train_dataloader = dict(
    batch_size=4, num_workers=0, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='_ToyPretrainViews'))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1),
                     logger=dict(type='LoggerHook', interval=1))
log_level = 'WARNING'
'''


def test_train_args_merge(tmp_path):
    train = load_tool('train')
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG)
    args = train.parse_args([
        str(config), '--resume', '--amp', '--seed', '3', '--cfg-options',
        'train_cfg.max_epochs=7'
    ])
    cfg = train.merge_args(Config.fromfile(str(config)), args)
    # nothing to resume from in the work directory yet
    assert cfg.resume is False and cfg.load_from is None
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.randomness.seed == 3 and cfg.train_cfg.max_epochs == 7
    assert cfg.work_dir.endswith('cfg')
    # --seed wins over a config's randomness (every config here has one)
    config.write_text(CONFIG + "randomness = dict(seed=0, deterministic=False)\n")
    cfg = train.merge_args(Config.fromfile(str(config)), train.parse_args(
        [str(config), '--seed', '5', '--diff-rank-seed']))
    assert cfg.randomness == dict(seed=5, deterministic=False, diff_rank_seed=True)
    cfg = train.merge_args(Config.fromfile(str(config)), train.parse_args([str(config)]))
    assert cfg.randomness == dict(seed=0, deterministic=False)
    args = train.parse_args([str(config), '--resume', 'x.pth'])
    cfg = train.merge_args(Config.fromfile(str(config)), args)
    assert cfg.resume is True and cfg.load_from == 'x.pth'


def test_plain_config_dumps_the_same_config(tmp_path):
    """--plain-config: the run's config logged and dumped without yapf,
    the same settings when read back."""
    train = load_tool('train')
    config = Path(__file__).resolve().parents[1] / 'configs/msclr/demo/ms_aimclr_synthetic.py'
    args = train.parse_args([str(config), '--plain-config', '--work-dir', str(tmp_path)])
    assert args.plain_config
    plain = train.read_config(str(config), args.plain_config)
    formatted = train.read_config(str(config))
    assert plain.pretty_text != formatted.pretty_text
    for text in (plain.pretty_text, formatted.pretty_text):
        dumped = tmp_path / 'dump.py'
        dumped.write_text(text)
        assert Config.fromfile(str(dumped)).to_dict() == formatted.to_dict()


def test_test_args_dump(tmp_path):
    test = load_tool('test')
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG + "test_evaluator = dict(type='AccMetric')\n")
    args = test.parse_args(
        [str(config), 'ck.pth', '--dump', 'scores.pkl', '--work-dir',
         str(tmp_path)])
    cfg = test.merge_args(Config.fromfile(str(config)), args)
    assert cfg.load_from == 'ck.pth' and cfg.work_dir == str(tmp_path)
    assert [e['type'] for e in cfg.test_evaluator] == ['AccMetric', 'DumpResults']
    with pytest.raises(ValueError, match='pkl'):
        test.merge_args(
            Config.fromfile(str(config)),
            test.parse_args([str(config), 'c', '--dump', 'x.txt']))


def test_pretrain_runs_and_resumes_exactly(tmp_path):
    train = load_tool('train')
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG)
    work = tmp_path / 'work'
    train.main([str(config), '--work-dir', str(work), '--seed', '0'])
    first = torch.load(work / 'epoch_2.pth', weights_only=True)
    state = first['state_dict']
    # 2 epochs x 2 iterations x 4 keys
    assert int(state['queue_ptr']) == 16
    assert any(k.startswith('momentum_backbone.') for k in state)
    assert torch.isfinite(state['queue']).all()
    logged = [
        json.loads(line) for path in work.glob('*/vis_data/scalars.json')
        for line in path.read_text().splitlines()
    ]
    # mining_epoch=1: AimCLR epoch 1 plain, epoch 2 with mined positives
    assert {r['epoch'] for r in logged if 'num_positives' in r} == {2}
    assert all(r['loss'] > 0 for r in logged)

    train.main([
        str(config), '--work-dir',
        str(work), '--resume', '--seed', '0', '--cfg-options', 'train_cfg.max_epochs=3'
    ])
    third = torch.load(work / 'epoch_3.pth', weights_only=True)['state_dict']
    # resumed pointer 16 + 8 keys wraps to 0 in a queue of 24
    assert int(third['queue_ptr']) == 0
    # (a fresh queue would hold 8 keys and point at 8); epoch 3 wrote 16:24
    assert torch.equal(third['queue'][:, :16], state['queue'][:, :16])
    assert not torch.equal(third['queue'][:, 16:], state['queue'][:, 16:])


STORE_CONFIG = """
default_scope = 'mmaction'
custom_hooks = [dict(type='RNGStateHook')]
""" + TINY_MODEL.format(layouts=['kinectv2_25', 'msr_action3d_20', 'smpl_24'],
                        mining_epoch=2).replace('{', '{{').replace('}', '}}') + '''
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='ConventionGroupedBatchSampler', drop_last=True),
    dataset=dict(type='MultiSkeletonDataset', ann_file={store!r},
                 split='train', pipeline={pipeline!r}))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', milestones=[3], gamma=0.1)]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1),
                     logger=dict(type='LoggerHook', interval=1),
                     epoch_length=dict(type='EpochLengthHook'))
log_level = 'WARNING'
'''


@HOOKS.register_module(force=True)
class _EtaProbe(Hook):
    """The ETA never goes negative and the total is exact at the end,
    though the grouped sampler's epochs differ in length."""
    priority = 'LOWEST'  # after IterTimerHook

    def before_train(self, runner):
        self.lengths = []

    def before_train_epoch(self, runner):
        self.lengths.append(len(runner.train_dataloader))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        assert runner.message_hub.get_info('eta') >= 0

    def after_train(self, runner):
        # mmengine's own count is the first epoch's length x epochs
        assert len(set(self.lengths)) > 1
        assert runner.max_iters == runner.iter == sum(self.lengths)


def assert_same_training_state(a, b):
    """Two checkpoints (or rank dumps) hold bit-identical weights, key
    encoder, queue, BN statistics and SGD state."""
    assert any(k.startswith('momentum_backbone.') for k in a['state_dict'])
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for name, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][name]), name
    assert a['optimizer']['param_groups'] == b['optimizer']['param_groups']
    assert a['optimizer']['state'].keys() == b['optimizer']['state'].keys()
    assert len(a['optimizer']['state']) > 0
    for key, value in a['optimizer']['state'].items():
        assert torch.equal(value['momentum_buffer'],
                           b['optimizer']['state'][key]['momentum_buffer'])


class _Killed(Exception):
    pass


@HOOKS.register_module(force=True)
class _KillAfterEpoch(Hook):
    """Stands for a kill: stops the run once epoch ``epoch`` is saved."""
    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise _Killed


def test_kill_and_resume_equals_the_uninterrupted_run(tmp_path):
    """Random augmentation, pairing, dropout, queue, mining and an LR step:
    killed after 2 of 4 epochs and resumed, the run ends bit-identical to
    the uninterrupted one."""
    from .test_dataset import PRETRAIN_PIPELINE, make_store
    train = load_tool('train')
    config = tmp_path / 'cfg.py'
    config.write_text(STORE_CONFIG.format(
        store=make_store(tmp_path / 'store', num_clips=12), pipeline=PRETRAIN_PIPELINE))
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    train.main([str(config), '--work-dir', str(straight), '--seed', '0'])
    killed = tmp_path / 'killed.py'
    killed.write_text(config.read_text() + "custom_hooks.append(dict(type='_KillAfterEpoch', epoch=2))\n")
    with pytest.raises(_Killed):
        train.main([str(killed), '--work-dir', str(resumed), '--seed', '0'])
    assert not (resumed / 'epoch_3.pth').exists()
    train.main([str(config), '--work-dir', str(resumed), '--seed', '0', '--resume'])
    a = torch.load(straight / 'epoch_4.pth', weights_only=True)
    b = torch.load(resumed / 'epoch_4.pth', weights_only=True)
    assert_same_training_state(a, b)
    assert a['optimizer']['param_groups'][0]['lr'] == pytest.approx(0.01)
    # epochs 3-4 changed the queue, so the equality above is not vacuous
    two = torch.load(resumed / 'epoch_2.pth', weights_only=True)['state_dict']
    assert not torch.equal(two['queue'], b['state_dict']['queue'])


def test_eta_with_epochs_of_varying_length(tmp_path):
    from .test_dataset import PRETRAIN_PIPELINE, make_store
    config = tmp_path / 'cfg.py'
    config.write_text(STORE_CONFIG.format(
        store=make_store(tmp_path / 'store', num_clips=24),
        pipeline=PRETRAIN_PIPELINE).replace('max_epochs=4', 'max_epochs=2').replace(
            'batch_size=2', 'batch_size=3') +
        "custom_hooks.append(dict(type='_EtaProbe'))\n")
    load_tool('train').main([str(config), '--work-dir', str(tmp_path / 'w'),
                             '--seed', '1'])
