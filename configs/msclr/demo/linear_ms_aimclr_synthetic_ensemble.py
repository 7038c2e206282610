# Test every clip in all conventions, averaging the per-convention softmax
# (the paper's skeleton-specific ensemble).
_base_ = './linear_ms_aimclr_synthetic.py'
val_dataloader = dict(dataset=dict(mode='all'))
test_dataloader = dict(dataset=dict(mode='all'))
