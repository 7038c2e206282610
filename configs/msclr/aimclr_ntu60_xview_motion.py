_base_ = './aimclr_ntu60_xview.py'
model = dict(data_preprocessor=dict(stream='motion'))
