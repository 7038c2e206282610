_base_ = './linear_aimclr_ntu60_xsub.py'
model = dict(data_preprocessor=dict(stream='motion'))
