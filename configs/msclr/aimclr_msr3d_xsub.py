# AimCLR baseline on MSR Action3D: the Kinect v1 recording only, in its
# paper form (mining from 3/4 of training, no warm-up: its better form on
# MSR, docs/results.md).
_base_ = './ms_aimclr_msr3d_xsub_paper_pairs.py'
train_dataloader = dict(dataset=dict(conventions=['msr_action3d_20']))
# the same number of steps as MS-AimCLR (its epochs hold twice the items),
# with the LR step and mining start at the same fraction of training
model = dict(
    backbone=dict(graph_cfg=dict(layouts=['msr_action3d_20'])),
    mining_epoch=48)
train_cfg = dict(max_epochs=64)
param_scheduler = [dict(type='MultiStepLR', milestones=[56], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=64))
