_base_ = './linear_ms_aimclr_ntu60_xview_transfer.py'
model = dict(data_preprocessor=dict(stream='motion'))
