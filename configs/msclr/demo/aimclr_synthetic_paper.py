# AimCLR with the paper's settings at CPU scale (the main job's recipe before
# the search of docs/results.md): AimCLR's encoder (16-256 channels, dropout
# 0.5), joint stream, its plain projector, queue 2048, momentum 0.999,
# temperature 0.07, batch 64, 30 frames, 42 steps. For the comparisons of
# docs/results.md ("Pretraining at CPU scale"); probe it with
# linear_aimclr_synthetic_paper.py.
_base_ = './aimclr_synthetic.py'
channels = (16, 16, 16, 16, 32, 32, 32, 64, 64, 256)
model = dict(
    backbone=dict(channels=channels, tcn_dropout=0.5),
    neck=dict(in_channels=256, hid_channels=256, norm_cfg=None),
    data_preprocessor=dict(stream='joint'),
    queue_len=2048,
    momentum=0.999,
    temperature=0.07,
    mining_epoch=4)
train_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline=[
        dict(type='MSMultiView',
             common=[dict(type='MSPreNormalize'),
                     dict(type='MSResample', clip_len=30),
                     dict(type='MSPersonPadding', num_person=1)],
             pipelines={{_base_.views}}),
        dict(type='PackMultiSkeletonInputs')
    ]))
train_cfg = dict(max_epochs=6)
param_scheduler = [dict(type='MultiStepLR', milestones=[5], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=6))
