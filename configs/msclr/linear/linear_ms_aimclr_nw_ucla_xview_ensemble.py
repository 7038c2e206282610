# The skeleton-specific ensemble on NW-UCLA (head default: softmax rule).
_base_ = './linear_ms_aimclr_nw_ucla_xview.py'
train_dataloader = dict(dataset=dict(mode='single'))
val_dataloader = test_dataloader = dict(dataset=dict(mode='all'))
