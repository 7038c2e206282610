# Skeleton-specific ensemble: every clip in both conventions, per-convention
# softmax averaged.
_base_ = './linear_ms_aimclr_bandai.py'
val_dataloader = dict(dataset=dict(mode='all'))
test_dataloader = dict(dataset=dict(mode='all'))
