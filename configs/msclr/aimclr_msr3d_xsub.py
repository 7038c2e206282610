# AimCLR baseline on MSR Action3D: the Kinect v1 recording only.
_base_ = './ms_aimclr_msr3d_xsub.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['msr_action3d_20'])))
train_dataloader = dict(dataset=dict(conventions=['msr_action3d_20']))
train_cfg = dict(max_epochs=16)
