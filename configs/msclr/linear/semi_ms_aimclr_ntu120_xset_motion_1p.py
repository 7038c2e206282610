_base_ = './semi_ms_aimclr_ntu120_xset_1p.py'
model = dict(data_preprocessor=dict(stream='motion'))
