_base_ = './linear_ms_aimclr_msr3d_xsub.py'
model = dict(
    backbone=dict(graph_cfg=dict(layouts=['msr_action3d_20']), out_norm=False))
train_dataloader = dict(
    dataset=dict(conventions=['msr_action3d_20'], mode='msr_action3d_20'))
val_dataloader = dict(dataset=dict(conventions=['msr_action3d_20']))
test_dataloader = dict(dataset=dict(conventions=['msr_action3d_20']))
