# Linear probe of the AimCLR baseline (Kinect v2 only).
_base_ = './linear_ms_aimclr_synthetic.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['kinectv2_25'])))
train_dataloader = dict(
    dataset=dict(conventions=['kinectv2_25'], mode='kinectv2_25'))
val_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
test_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
