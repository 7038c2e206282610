"""Strict checkpoint loading, clear errors, refused pickles, the converter
for this project's checkpoints and the probe's label check."""
import importlib.util
import logging
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmaction.registry import MODELS
from msclr_plugin.models.recognizers.ms_recognizer_gcn import \
    load_pretrained_backbone
from msclr_plugin.utils.checkpoint import (CheckpointError,
                                           CheckpointMismatchError,
                                           UnsafeCheckpointError,
                                           load_state_dict_strict,
                                           read_checkpoint)
from .conftest import ROOT

A = 'kinectv2_25'
BACKBONE = dict(
    type='MSSTGCN',
    graph_cfg=dict(type='MultiSkeletonGraph', layouts=[A, 'coco']),
    channels=(4, 8),
    num_stages=2,
    down_stages=())
LINEAR_CFG = ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'


def tool(name):
    spec = importlib.util.spec_from_file_location(
        name, ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_cfg(num_classes=3, **backbone):
    return dict(
        type='MSRecognizerGCN',
        backbone=dict(BACKBONE, **backbone),
        cls_head=dict(type='MSLinearHead', num_classes=num_classes,
                      in_channels=8),
        data_preprocessor=dict(type='BaseDataPreprocessor'))


def pretrain_state(backbone):
    """A pretraining checkpoint's state: query/key encoders, projector,
    queue."""
    own = backbone.state_dict()
    state = {'backbone.' + k: v + 1 if v.is_floating_point() else v
             for k, v in own.items()}
    state.update({'momentum_backbone.' + k: v for k, v in own.items()})
    state['neck.projector.0.weight'] = torch.randn(8, 8)
    state['momentum_neck.projector.0.weight'] = torch.randn(8, 8)
    state['queue'] = torch.randn(8, 16)
    state['queue_ptr'] = torch.zeros(1, dtype=torch.long)
    return state


# ------------------------------------------------------------ strict loading
def test_strict_load_lists_missing_unexpected_and_mismatched_keys():
    model = MODELS.build(model_cfg())
    state = dict(model.state_dict())
    state.pop('cls_head.fc.coco.bias')
    state['cls_head.fc.kinectv2_25.weight'] = torch.zeros(5, 8)
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as err:
        load_state_dict_strict(model, state, 'ck.pth')
    msg = str(err.value)
    assert 'ck.pth does not fit MSRecognizerGCN' in msg
    assert '1 missing key: cls_head.fc.coco.bias' in msg
    assert '1 unexpected key: extra.weight' in msg
    assert ('cls_head.fc.kinectv2_25.weight (checkpoint (5, 8), model '
            '(3, 8))') in msg
    # nothing was loaded
    assert not torch.equal(model.cls_head.fc[A].weight,
                           torch.zeros(3, 8))


def test_exclude_is_the_explicit_partial_load_and_pretraining_keys_drop():
    model = MODELS.build(model_cfg())
    source = MODELS.build(model_cfg(num_classes=5))
    state = pretrain_state(source.backbone)
    state.update({'cls_head.' + k: v
                  for k, v in source.cls_head.state_dict().items()})
    head = {k: v.clone() for k, v in model.cls_head.state_dict().items()}
    with pytest.raises(CheckpointMismatchError, match='shape mismatch'):
        load_state_dict_strict(model, state, 'pre.pth')
    report = load_state_dict_strict(
        model, state, 'pre.pth', exclude=['cls_head.*'], logger='silent')
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + key]), key
    for key, value in model.cls_head.state_dict().items():
        assert torch.equal(value, head[key]), key  # the new head: at init
    assert sorted(report.excluded) == sorted('cls_head.' + k for k in head)
    # key encoder, projector and queue left out by name, on purpose
    assert {k.split('.')[0] for k in report.dropped} == {
        'momentum_backbone', 'momentum_neck', 'neck', 'queue', 'queue_ptr',
        'cls_head'}
    assert len(report.loaded) == len(model.backbone.state_dict())


def test_pretrained_init_cfg_is_strict_and_needs_a_checkpoint(tmp_path):
    source = MODELS.build(BACKBONE)
    path = tmp_path / 'pre.pth'
    torch.save(dict(state_dict=pretrain_state(source)), path)
    ok = MODELS.build(dict(BACKBONE, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.')))
    ok.init_weights()  # the projector, key encoder and queue are left out
    wider = MODELS.build(dict(BACKBONE, channels=(4, 6), init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.')))
    with pytest.raises(CheckpointMismatchError) as err:
        wider.init_weights()
    assert 'gcn.1.gcn.conv.weight (checkpoint (24, 4, 1, 1), model ' \
        '(18, 4, 1, 1))' in str(err.value)
    assert 'init_cfg.exclude' in str(err.value)
    one = MODELS.build(dict(BACKBONE, graph_cfg=dict(
        type='MultiSkeletonGraph', layouts=[A]), init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.')))
    with pytest.raises(CheckpointMismatchError,
                       match=r'unexpected keys: .*data_bn.coco.bias'):
        one.init_weights()
    one.init_cfg['exclude'] = ['*coco*']  # dropping a convention: explicit
    one.init_weights()
    missing = MODELS.build(dict(BACKBONE, init_cfg=dict(
        type='Pretrained', checkpoint=None, prefix='backbone.')))
    with pytest.raises(ValueError,
                       match='model.backbone.init_cfg.checkpoint='):
        missing.init_weights()


def test_load_pretrained_backbone_loads_the_encoder_only(tmp_path):
    model = MODELS.build(model_cfg())
    state = pretrain_state(model.backbone)
    torch.save(dict(state_dict=state), tmp_path / 'pre.pth')
    report = load_pretrained_backbone(model, str(tmp_path / 'pre.pth'))
    assert len(report.loaded) == len(model.backbone.state_dict())
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + key]), key
    with pytest.raises(CheckpointMismatchError, match="no key starts with"):
        load_pretrained_backbone(model, str(tmp_path / 'pre.pth'),
                                 prefix='streams.joint.backbone.')


def test_knn_loading_logs_one_line(tmp_path):
    from mmengine.logging import MMLogger
    from msclr_plugin.evaluation.knn import load_model
    model = MODELS.build(model_cfg())
    path = tmp_path / 'pre.pth'
    torch.save(dict(state_dict=pretrain_state(model.backbone)), path)
    logger = MMLogger.get_current_instance()
    records, level = [], logger.level
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        load_model(Config(dict(model=model_cfg())), str(path))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [r.getMessage() for r in records]
    assert len(lines) == 1, lines
    n = len(model.backbone.state_dict())
    assert lines[0] == (
        f'{path}: loaded {n}/{n} tensors of MSRecognizerGCN.backbone (keys '
        f"under 'backbone.'); left out by name: {n + 4} keys: "
        f'momentum_backbone.* ({n}), momentum_neck.projector.0.weight, '
        'neck.projector.0.weight, queue, queue_ptr')


def _runner(tmp_path, num_classes, **kwargs):
    return Runner(
        model=model_cfg(num_classes, graph_cfg=dict(
            type='MultiSkeletonGraph', layouts=['coco'])),
        work_dir=str(tmp_path),
        default_scope='mmaction',
        log_level='WARNING',
        **kwargs)


def test_load_from_is_strict_unless_load_cfg_excludes(tmp_path):
    source = _runner(tmp_path / 's', 5).model
    path = tmp_path / 'five.pth'
    torch.save(dict(state_dict=source.state_dict(), meta={}), path)
    runner = _runner(tmp_path / 'a', 3, load_from=str(path))
    with pytest.raises(CheckpointMismatchError,
                       match=r'cls_head.fc.coco.weight \(checkpoint \(5, 8\)'):
        runner.load_or_resume()
    runner = _runner(tmp_path / 'b', 3, load_from=str(path),
                     cfg=dict(load_cfg=dict(exclude=['cls_head.*'])))
    runner.load_or_resume()
    for key, value in runner.model.backbone.state_dict().items():
        assert torch.equal(value, source.backbone.state_dict()[key]), key


# ------------------------------------------------------------ unreadable files
def test_garbage_checkpoints_name_the_file(tmp_path):
    files = {
        'random.pth': os.urandom(256),
        'empty.pth': b'',
        'text.pth': b'not a checkpoint',
    }
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.zeros(3)}, good)
    files['truncated.pth'] = good.read_bytes()[:300]
    torch.save({'w': torch.zeros(3)}, good, _use_new_zipfile_serialization=False)
    files['legacy_truncated.pth'] = good.read_bytes()[:-40]
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError,
                           match='not a PyTorch checkpoint') as err:
            read_checkpoint(str(tmp_path / name))
        assert str(tmp_path / name) in str(err.value)
    torch.save([1, 2], tmp_path / 'list.pth')
    model = MODELS.build(dict(BACKBONE, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'list.pth'))))
    with pytest.raises(CheckpointError, match='list.pth: holds a list'):
        model.init_weights()


class _Payload:
    """Creates a file when unpickled: proof that code ran."""

    marker = None

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def _write(path, fmt, obj):
    if fmt == 'pickle':
        with open(path, 'wb') as f:
            pickle.dump(obj, f)
    else:
        torch.save(obj, path, _use_new_zipfile_serialization=fmt == 'zip')


def _route(route, path, tmp_path):
    if route in ('load_from', 'resume'):
        runner = _runner(tmp_path / route, 3, load_from=str(path),
                         resume=route == 'resume')
        runner.load_or_resume()
    elif route == 'pretrained_init':
        MODELS.build(dict(BACKBONE, init_cfg=dict(
            type='Pretrained', checkpoint=str(path),
            prefix='backbone.'))).init_weights()
    elif route == 'knn_load_model':
        from msclr_plugin.evaluation.knn import load_model
        load_model(Config(dict(model=model_cfg())), str(path))
    else:
        tool('convert_checkpoint').main([str(path), str(tmp_path / 'o.pth')])


@pytest.mark.parametrize('fmt', ['zip', 'legacy', 'pickle'])
def test_malicious_checkpoints_are_refused_on_every_route(tmp_path, fmt):
    marker = tmp_path / 'code_ran'
    _Payload.marker = str(marker)
    path = tmp_path / f'evil.{fmt}'
    _write(path, fmt, {'state_dict': {'w': torch.zeros(2)},
                       'meta': {'x': _Payload()}})
    for route in ('load_from', 'resume', 'pretrained_init', 'knn_load_model',
                  'convert_checkpoint'):
        with pytest.raises((UnsafeCheckpointError, SystemExit)) as err:
            _route(route, path, tmp_path)
        msg = str(err.value)
        assert str(path) in msg and 'io.open' in msg, (route, msg)
        assert 'tools/convert_checkpoint.py' in msg and '--trust' in msg
        assert (ROOT / 'tools' / 'convert_checkpoint.py').is_file()
        assert not marker.exists(), route


# ------------------------------------------------------------ converter
def test_convert_trusted_legacy_pickle_and_pretraining(tmp_path):
    convert = tool('convert_checkpoint')
    source = MODELS.build(BACKBONE)
    state = pretrain_state(source)
    path = tmp_path / 'legacy.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=3, arr=np.zeros(2))),
               path, _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match='numpy'):
        read_checkpoint(str(path))
    out = tmp_path / 'backbone.pth'
    convert.main([str(path), str(out), '--trust'])
    converted = torch.load(out, weights_only=True)
    assert set(converted['state_dict']) == {
        'backbone.' + k for k in source.state_dict()}
    assert converted['meta']['source_meta'] == dict(epoch=3, arr=None)
    for key, value in converted['state_dict'].items():
        assert torch.equal(value, state[key]), key
    # MSCrosSCLR: one stream's query encoder
    streams = {f'streams.{s}.{k}': v for s in ('joint', 'motion')
               for k, v in state.items()}
    torch.save(dict(state_dict=streams), tmp_path / 'cross.pth')
    with pytest.raises(SystemExit, match=r"streams \['joint', 'motion'\]"):
        convert.main([str(tmp_path / 'cross.pth'), str(out)])
    convert.main([str(tmp_path / 'cross.pth'), str(out), '--stream', 'motion'])
    assert torch.load(out, weights_only=True)['state_dict'].keys() == \
        converted['state_dict'].keys()


# ------------------------------------------------------------ the user's runs
@pytest.fixture(scope='module')
def synthetic_store(tmp_path_factory):
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    root = tmp_path_factory.mktemp('syn') / 'store'
    generate_synthetic_store(str(root), num_clips_per_class_per_subject=1,
                             conventions=(A, 'coco'), num_subjects=2,
                             num_train_subjects=1, seed=1)
    return str(root)


def _linear_cfg(store, **model):
    cfg = Config.fromfile(str(LINEAR_CFG))
    cfg.merge_from_dict(dict(model=model))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.ann_file = store
    return cfg


def test_tools_test_rejects_another_models_checkpoint(tmp_path,
                                                      synthetic_store):
    cfg = _linear_cfg(synthetic_store, cls_head=dict(num_classes=5))
    path = tmp_path / 'five_classes.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta={}),
               path)
    proc = subprocess.run([
        sys.executable, 'tools/test.py', str(LINEAR_CFG), str(path),
        '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.ann_file={synthetic_store}'
    ], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert '4 shape mismatches' in proc.stderr, proc.stderr[-3000:]
    width = cfg.model.cls_head.in_channels
    for conv in (A, 'coco'):
        assert (f'cls_head.fc.{conv}.weight (checkpoint (5, {width}), model '
                f'(12, {width}))') in proc.stderr


def test_linear_probe_checks_labels_before_the_first_step(tmp_path,
                                                          synthetic_store):
    cfg = _linear_cfg(synthetic_store, cls_head=dict(num_classes=5))
    encoder = MODELS.build(cfg.model.backbone)
    torch.save(dict(state_dict={'backbone.' + k: v for k, v in
                                encoder.state_dict().items()}),
               tmp_path / 'pre.pth')
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'pre.pth')
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    # the config's parts, without the config's pretty-printed dump (slow)
    runner = Runner(
        **{k: cfg[k] for k in ('model', 'train_dataloader', 'train_cfg',
                               'optim_wrapper', 'custom_hooks',
                               'default_scope')},
        work_dir=str(tmp_path), log_level='WARNING')
    with pytest.raises(ValueError) as err:
        runner.train()
    msg = str(err.value)
    assert f"train_dataloader: MultiSkeletonDataset(ann_file='{synthetic_store}'" \
        in msg and "split='xsub_train'" in msg
    assert '7 of 12 clips with labels outside [0, 5)' in msg
    assert 'SYN_P001A006R001 (label 5)' in msg
    assert runner.iter == 0
