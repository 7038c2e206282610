_base_ = './semi_ms_aimclr_ntu60_xsub_1p.py'
model = dict(data_preprocessor=dict(stream='bone'))
