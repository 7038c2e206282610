# Linear probe of the main job's MS-AimCLR: frozen encoder, one classifier
# per convention, trained on every clip in each convention ('single'),
# tested on the Kinect v2 convention (the reference), see the _ensemble and
# _transfer variants for the other protocols.
_base_ = [
    '../../_base_/default_runtime.py', '../../_base_/models/linear_probe.py',
    '../../_base_/datasets/aimclr_views.py',
    '../../_base_/datasets/cpu_prepare.py'
]
data_root = 'work_dirs/demo/synthetic'
conventions = ['kinectv2_25', 'coco']
model = dict(
    backbone=dict(
        graph_cfg=dict(layouts=conventions),
        frozen_stages=10,
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint=None,
            prefix='backbone.')),
    # a parameter-free BN before the classifier: the CPU-sized probe has a
    # few dozen steps, AimCLR's has ~30k (lr 3.0 diverges here, tested)
    cls_head=dict(num_classes=12, feat_norm=True))
dataset = dict(
    type='MultiSkeletonDataset',
    ann_file=data_root,
    conventions=conventions,
    pipeline=[
        dict(type='MSMultiView', common={{_base_.cpu_prepare}}, default=[]),
        dict(type='PackMultiSkeletonInputs')
    ])
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='xsub_train', mode='single'))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='xsub_val', mode='kinectv2_25',
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='MSAccMetric', topk=(1, 5))
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_begin=10,
                 val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', milestones=[8], gamma=0.1)]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
