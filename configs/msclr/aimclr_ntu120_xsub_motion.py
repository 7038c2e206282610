_base_ = './aimclr_ntu120_xsub.py'
model = dict(data_preprocessor=dict(stream='motion'))
