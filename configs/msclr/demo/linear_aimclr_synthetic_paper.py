# Probe of aimclr_synthetic_paper.py: its encoder, joint stream, 30 frames.
_base_ = './linear_aimclr_synthetic.py'
channels = (16, 16, 16, 16, 32, 32, 32, 64, 64, 256)
prepare = [
    dict(type='MSPreNormalize'),
    dict(type='MSResample', clip_len=30),
    dict(type='MSPersonPadding', num_person=1)
]
pipeline = [
    dict(type='MSMultiView', common=prepare, default=[]),
    dict(type='PackMultiSkeletonInputs')
]
model = dict(
    data_preprocessor=dict(stream='joint'),
    backbone=dict(channels=channels),
    cls_head=dict(in_channels=256))
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = dict(dataset=dict(pipeline=pipeline))
