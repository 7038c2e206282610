# Single-convention AimCLR baseline for the main job: Kinect v2 only, the
# same number of steps as MS-AimCLR (its epochs hold half the items).
_base_ = './ms_aimclr_synthetic.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['kinectv2_25'])),
             mining_epoch=12)
train_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
train_cfg = dict(max_epochs=16)
param_scheduler = [dict(type='MultiStepLR', milestones=[14], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=16))
