_base_ = './linear_ms_aimclr_ntu60_xsub_ensemble.py'
model = dict(data_preprocessor=dict(stream='motion'))
