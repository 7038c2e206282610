_base_ = './linear_ms_aimclr_msr3d_xsub.py'
val_dataloader = dict(dataset=dict(mode='all'))
test_dataloader = dict(dataset=dict(mode='all'))
