# Linear evaluation of the AimCLR baseline on NW-UCLA.
_base_ = './linear_ms_aimclr_nw_ucla_xview.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['msr_action3d_20'])))
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(conventions=['msr_action3d_20']))
