# Linear probe: the pretrained encoder frozen (weights, BN statistics, no
# dropout: frozen_stages = all 10 blocks, set by the linear configs), one
# linear classifier per
# convention (the paper's skeleton-specific ensemble: softmax averaged over
# the conventions of a test clip).
_base_ = './aimclr_encoder.py'
model = dict(
    type='MSRecognizerGCN',
    backbone={{_base_.encoder}},
    cls_head=dict(
        type='MSLinearHead',
        num_classes=60,
        in_channels=256,
        skeleton_specific=True,
        view_fusion='softmax'),
    data_preprocessor=dict(
        type='MultiSkeletonDataPreprocessor', stream='joint'))
