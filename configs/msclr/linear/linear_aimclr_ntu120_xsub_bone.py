_base_ = './linear_aimclr_ntu120_xsub.py'
model = dict(data_preprocessor=dict(stream='bone'))
