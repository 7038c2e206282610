_base_ = './semi_ms_aimclr_ntu120_xsub_10p.py'
model = dict(data_preprocessor=dict(stream='bone'))
