_base_ = './linear_ms_aimclr_ntu120_xsub_transfer.py'
model = dict(data_preprocessor=dict(stream='bone'))
