# The main job's pretraining (README command 1): MS-AimCLR on the embedded
# SYNTHETIC default data (tools/data/make_synthetic.py --num-person 1),
# Kinect v2 + COCO renderings of the same motions. A CPU-sized recipe, found
# by measurement (docs/results.md, "Pretraining at CPU scale"): with the
# paper's settings a few hundred steps leave the features no better than a
# randomly initialised encoder's. What changes, and why:
# - the motion stream (frame differences): a random encoder of the joint
#   stream is already a strong classifier of static posture, and instance
#   discrimination latches onto posture first; motion leaves it no shortcut;
# - a BatchNorm in the projector's hidden layer: AimCLR's plain MLP maps the
#   pooled ReLU features of every clip into one narrow cone within a few
#   steps, where InfoNCE has no gradient (the loss sits at ln(K + 1));
# - momentum 0 (the key encoder is the query encoder of the step), a queue of
#   one batch and temperature 0.2: with a slow key encoder and a long queue
#   the query learns to tell fresh keys from stale ones, not clips apart;
# - no dropout, a quarter of AimCLR's channels, 20 frames, batch 32: cheaper
#   steps, more of them (256 in 8 epochs here).
_base_ = [
    '../../_base_/default_runtime.py', '../../_base_/models/ms_aimclr.py',
    '../../_base_/datasets/aimclr_views.py',
    '../../_base_/datasets/cpu_prepare.py'
]
data_root = 'work_dirs/demo/synthetic'
conventions = ['kinectv2_25', 'coco']
channels = (4, 4, 4, 4, 8, 8, 8, 16, 16, 64)
model = dict(
    backbone=dict(graph_cfg=dict(layouts=conventions), channels=channels,
                  tcn_dropout=0.),
    neck=dict(in_channels=channels[-1], hid_channels=channels[-1],
              norm_cfg=dict(type='BN1d')),
    data_preprocessor=dict(stream='motion'),
    queue_len=64,  # two batches
    momentum=0.,
    temperature=0.2,
    mining_epoch=6)
# the paper's positives: every view draws its own augmentation (variants
# with aligned views restore them through this variable)
pretrain_pipeline = [
    dict(type='MSMultiView', common={{_base_.cpu_prepare}},
         pipelines={{_base_.views}}),
    dict(type='PackMultiSkeletonInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    # views and labels stacked in the workers: a few tensors to hand over
    # instead of one per sample (same batches; docs/benchmarks.md)
    collate_fn=dict(type='multi_skeleton_collate'),
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
        pipeline=pretrain_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', milestones=[7], gamma=0.1)]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=8, max_keep_ckpts=1))
# one intra-op thread, as tools/demo.py runs its tasks: the digits depend on
# the thread count (msclr_plugin.utils.launch.set_threads)
env_cfg = dict(num_threads=1)
