_base_ = './aimclr_ntu60_xsub.py'
model = dict(data_preprocessor=dict(stream='bone'))
