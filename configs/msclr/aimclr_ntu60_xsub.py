# Single-convention AimCLR baseline (Kinect v2 only): the same classes with
# one convention are plain AimCLR.
_base_ = './ms_aimclr_ntu60_xsub.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['kinectv2_25'])))
train_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
