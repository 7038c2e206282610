# Single-convention AimCLR baseline on NW-UCLA (the Kinect v1 recording).
_base_ = './ms_aimclr_nw_ucla_xview.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['msr_action3d_20'])))
train_dataloader = dict(dataset=dict(conventions=['msr_action3d_20']))
