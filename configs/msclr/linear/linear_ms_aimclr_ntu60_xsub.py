# Linear evaluation of an NTU-60 xsub pretraining (AimCLR protocol): frozen
# encoder, Kinect v2 (the reference convention) for training and test. Store
# and online preprocessing as ms_aimclr_ntu60_xsub.py.
#   python tools/train.py configs/msclr/linear/linear_ms_aimclr_ntu60_xsub.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=<pretrain epoch_300.pth>
#   python tools/test.py configs/msclr/linear/linear_ms_aimclr_ntu60_xsub.py \
#       <linear epoch_100.pth> --dump scores.pkl
_base_ = [
    '../../_base_/default_runtime.py', '../../_base_/models/linear_probe.py',
    '../../_base_/schedules/linear_sgd_100e.py',
    '../../_base_/datasets/aimclr_views.py'
]
data_root = 'data/stores/ntu60_msclr'
model = dict(
    backbone=dict(
        frozen_stages=10,
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint=None,
            prefix='backbone.')),
    cls_head=dict(num_classes=60))
dataset = dict(
    type='MultiSkeletonDataset',
    ann_file=data_root,
    conventions=['kinectv2_25', 'smplx_42'],
    mode='kinectv2_25',
    pipeline={{_base_.raw_eval_pipeline}})
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    # views and labels stacked in the workers: a few tensors to hand over
    # instead of one per sample (same batches; docs/benchmarks.md)
    collate_fn=dict(type='multi_skeleton_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='xsub_train'))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    collate_fn=dict(type='multi_skeleton_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='xsub_val', test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='MSAccMetric', topk=(1, 5), out_dir='auto')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(interval=10, save_best='acc/top1'))
