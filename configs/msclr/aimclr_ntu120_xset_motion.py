_base_ = './aimclr_ntu120_xset.py'
model = dict(data_preprocessor=dict(stream='motion'))
