_base_ = './semi_ms_aimclr_ntu60_xview_1p.py'
model = dict(data_preprocessor=dict(stream='bone'))
