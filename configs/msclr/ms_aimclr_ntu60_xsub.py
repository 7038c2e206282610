# MS-AimCLR pretraining on NTU RGB+D 60, cross-subject: Kinect v2 ground
# truth + SMPL-X 42 joints estimated from the RGB videos (MeTRAbs). The store
# data/stores/ntu60_msclr is made by (docs/data_preparation.md, "NTU RGB+D
# with MeTRAbs conventions"):
#   python tools/data/ntu_to_store.py --skeletons-dir data/nturgb+d_skeletons \
#       --out data/stores/ntu60 --benchmark ntu60
#   python tools/data/video_to_skeletons.py data/nturgb+d_rgb \
#       --strip-suffix _rgb --out data/metrabs --extractor metrabs \
#       --model <your MeTRAbs model> --formats smplx_42 --mirror --fov 84.1 \
#       --skeletons-dir data/nturgb+d_skeletons
#   python tools/data/attach_convention.py --store data/stores/ntu60 \
#       --files-dir data/metrabs --out data/stores/ntu60_msclr \
#       --name smplx_42 --pattern '{clip}.npz' --key smplx_42 --axes MTVC \
#       --on-mismatch error
# The store is raw (camera space, variable length): every convention is
# centred, aligned and resampled to 50 frames online (raw_pretrain_pipeline;
# a store made with --preprocess aimclr passes through it unchanged).
# Epoch length = clips x conventions (MS-CLR).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/models/ms_aimclr.py',
    '../_base_/schedules/pretrain_sgd_300e.py',
    '../_base_/datasets/aimclr_views.py'
]
data_root = 'data/stores/ntu60_msclr'
conventions = ['kinectv2_25', 'smplx_42']

model = dict(backbone=dict(graph_cfg=dict(layouts=conventions)))
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    # views and labels stacked in the workers: a few tensors to hand over
    # instead of one per sample (same batches; docs/benchmarks.md)
    collate_fn=dict(type='multi_skeleton_collate'),
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
        pipeline={{_base_.raw_pretrain_pipeline}}))
default_hooks = dict(checkpoint=dict(interval=10))
