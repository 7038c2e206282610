# Linear evaluation of the single-convention AimCLR baseline.
_base_ = './linear_ms_aimclr_ntu60_xsub.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['kinectv2_25'])))
train_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
val_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
test_dataloader = dict(dataset=dict(conventions=['kinectv2_25']))
