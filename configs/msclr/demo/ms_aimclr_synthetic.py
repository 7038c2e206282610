# The main job's pretraining (README command 1): MS-AimCLR on the embedded
# SYNTHETIC default data (tools/data/make_synthetic.py --num-person 1),
# Kinect v2 + COCO renderings of the same motions. A CPU-sized schedule: a
# few minutes on 2 cores, not the paper's 300 epochs.
_base_ = [
    '../../_base_/default_runtime.py', '../../_base_/models/ms_aimclr.py',
    '../../_base_/datasets/aimclr_views.py',
    '../../_base_/datasets/cpu_prepare.py'
]
data_root = 'work_dirs/demo/synthetic'
conventions = ['kinectv2_25', 'coco']
model = dict(
    backbone=dict(graph_cfg=dict(layouts=conventions)),
    queue_len=2048,
    mining_epoch=6)
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # leftovers of the pairs pooled into mixed batches: ceil(clips x 2 /
    # batch) steps an epoch, exactly twice the AimCLR baseline's here
    # (docs/datasets.md, tools/analysis/count_steps.py)
    batch_sampler=dict(
        type='ConventionGroupedBatchSampler', drop_last=False,
        mix_leftovers=True),
    dataset=dict(
        type='MultiSkeletonDataset',
        ann_file=data_root,
        conventions=conventions,
        split='xsub_train',
        mode='pretrain',
        pairing='random',
        pipeline=[
            dict(type='MSMultiView', common={{_base_.cpu_prepare}},
                 pipelines={{_base_.views}}),
            dict(type='PackMultiSkeletonInputs')
        ]))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', milestones=[7], gamma=0.1)]
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=8, max_keep_ckpts=1))
