# Single-convention AimCLR baseline for the main job: Kinect v2 only, the
# same number of steps as MS-AimCLR (its epochs hold half the items).
_base_ = './ms_aimclr_synthetic.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['kinectv2_25'])),
             mining_epoch=6)
train_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
train_cfg = dict(max_epochs=8)
param_scheduler = [dict(type='MultiStepLR', milestones=[6], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=8))
