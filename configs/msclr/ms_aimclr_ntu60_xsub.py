# MS-AimCLR pretraining on NTU RGB+D 60, cross-subject: Kinect v2 ground
# truth + SMPL-X 42 joints estimated from the RGB videos (MeTRAbs, mm -> m).
# Input: a skeleton store made by
#   python tools/data/ntu_to_store.py --benchmark ntu60 --preprocess aimclr ...
#   python tools/data/attach_convention.py --convention smplx_42 --scale 0.001 ...
# (docs/data_preparation.md). Epoch length = clips x conventions (MS-CLR).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/models/ms_aimclr.py',
    '../_base_/schedules/pretrain_sgd_300e.py',
    '../_base_/datasets/aimclr_views.py'
]
data_root = 'data/ntu60_msclr'
conventions = ['kinectv2_25', 'smplx_42']

model = dict(backbone=dict(graph_cfg=dict(layouts=conventions)))
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # one (query, key) convention pair per batch: no padding (fast path);
    # remove it for the paper's padded mixed batches
    batch_sampler=dict(type='ConventionGroupedBatchSampler', drop_last=True),
    dataset=dict(
        type='MultiSkeletonDataset',
        ann_file=data_root,
        conventions=conventions,
        split='xsub_train',
        mode='pretrain',
        pairing='random',
        pipeline={{_base_.pretrain_pipeline}}))
default_hooks = dict(checkpoint=dict(interval=10))
