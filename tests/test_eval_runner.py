"""Linear probe through mmengine's Runner: train, val, test --dump, fusion."""
import json

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import msclr_plugin  # noqa: F401
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.runner import Runner
from msclr_plugin.evaluation.fusion import fuse_dumps

A, B = 'kinectv2_25', 'smplx_42'
JOINTS = {A: 25, B: 42}


class ToyClips(Dataset):
    """Items as MultiSkeletonDataset yields them after packing: every item
    in both conventions; class = sign pattern of the x coordinate."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(n) % 3
        self.clips = {}
        for conv, v in JOINTS.items():
            x = torch.randn(n, 2, 20, v, 3, generator=g) * 0.1
            x[..., 0] += (self.labels.float() - 1)[:, None, None, None] * 2
            self.clips[conv] = x

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        sample = ActionDataSample().set_gt_label(int(self.labels[i]))
        sample.set_metainfo(
            dict(clip_name=f'clip{i}', skeletons={A: A, B: B}))
        return dict(
            inputs={c: x[i] for c, x in self.clips.items()},
            data_samples=sample)


class OneConvention(ToyClips):
    """Training items carry ONE view: convention alternates per item."""

    def __getitem__(self, i):
        conv = (A, B)[i % 2]
        sample = ActionDataSample().set_gt_label(int(self.labels[i]))
        sample.set_metainfo(dict(clip_name=f'clip{i}', skeletons={'x': conv}))
        x = torch.zeros(2, 20, 42, 3)
        x[:, :, :JOINTS[conv]] = self.clips[conv][i]
        return dict(inputs={'x': x}, data_samples=sample)


def collate(items):
    return dict(
        inputs={
            v: torch.stack([it['inputs'][v] for it in items])
            for v in items[0]['inputs']
        },
        data_samples=[it['data_samples'] for it in items])


def model_cfg(init_cfg=None):
    cfg = dict(
        type='MSRecognizerGCN',
        backbone=dict(
            type='MSSTGCN',
            graph_cfg=dict(type='MultiSkeletonGraph', layouts=[A, B]),
            channels=(8, 8, 16, 16),
            num_stages=4,
            down_stages=(3, ),
            tcn_dropout=0.5,
            frozen_stages=4),
        cls_head=dict(type='MSLinearHead', num_classes=3, in_channels=16),
        data_preprocessor=dict(type='BaseDataPreprocessor'))
    if init_cfg is not None:
        cfg['backbone']['init_cfg'] = init_cfg
    return cfg


def test_linear_probe_runner_end_to_end(tmp_path):
    train = DataLoader(
        OneConvention(24, 0), batch_size=6, shuffle=True, collate_fn=collate)
    val = DataLoader(ToyClips(12, 1), batch_size=6, collate_fn=collate)
    dump = tmp_path / 'scores.pkl'
    # A "pretrained" encoder: the Runner loads it through init_cfg.
    torch.manual_seed(0)
    encoder = MODELS.build(model_cfg()['backbone'])
    encoder.init_weights()
    pretrained = {'backbone.' + k: v for k, v in encoder.state_dict().items()}
    pretrained['queue'] = torch.randn(16, 8)
    torch.save(dict(state_dict=pretrained, meta={}), tmp_path / 'pre.pth')
    runner = Runner(
        model=model_cfg(
            dict(type='Pretrained', checkpoint=str(tmp_path / 'pre.pth'),
                 prefix='backbone.')),
        work_dir=str(tmp_path),
        train_dataloader=train,
        val_dataloader=val,
        test_dataloader=val,
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=3,
                       val_interval=3),
        val_cfg=dict(type='ValLoop'),
        test_cfg=dict(type='TestLoop'),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=1.0, momentum=0.9,
                           weight_decay=0.)),
        val_evaluator=dict(type='MSAccMetric', topk=(1, ), out_dir='auto'),
        test_evaluator=[
            dict(type='MSAccMetric', topk=(1, )),
            dict(type='DumpResults', out_file_path=str(dump))
        ],
        default_scope='mmaction',
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=100),
            checkpoint=dict(type='CheckpointHook', interval=100)),
        log_level='WARNING')
    runner.train()
    for key, value in runner.model.backbone.state_dict().items():
        assert torch.equal(value, pretrained['backbone.' + key]), key
    metrics = runner.test()
    assert 0 <= metrics['acc/top1'] <= 1
    # The confusion matrix and per-class accuracies of the val run landed in
    # the runner's log directory.
    reports = list(tmp_path.glob('*/acc_per_class_accuracy.json'))
    assert len(reports) == 1 and len(json.loads(reports[0].read_text())) == 3
    assert list(tmp_path.glob('*/acc_confusion_matrix.png'))
    # The dump is what tools/ensemble.py reads; fusing it with itself keeps
    # the metric's top-1.
    fused = fuse_dumps([str(dump), str(dump)], [0.5, 0.5], topk=(1, ))
    assert fused['report']['top1'] == pytest.approx(metrics['acc/top1'])
