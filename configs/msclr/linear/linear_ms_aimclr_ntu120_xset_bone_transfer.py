_base_ = './linear_ms_aimclr_ntu120_xset_transfer.py'
model = dict(data_preprocessor=dict(stream='bone'))
