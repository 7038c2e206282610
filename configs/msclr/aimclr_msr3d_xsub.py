# AimCLR baseline on MSR Action3D: the Kinect v1 recording only.
_base_ = './ms_aimclr_msr3d_xsub_paper_pairs.py'
train_dataloader = dict(dataset=dict(conventions=['msr_action3d_20']))
# the same number of steps as MS-AimCLR (its epochs hold twice the items),
# with the LR step and mining start at the same fraction of training
model = dict(
    backbone=dict(graph_cfg=dict(layouts=['msr_action3d_20'])), mining_epoch=24)
train_cfg = dict(max_epochs=32)
param_scheduler = [dict(type='MultiStepLR', milestones=[28], gamma=0.1)]
