# The paper's skeleton-specific ensemble: one linear classifier per
# convention, each trained on its own convention ('single': every clip once
# per convention); at test every clip comes in all conventions and the
# per-convention softmax scores are averaged.
_base_ = './linear_ms_aimclr_ntu60_xsub.py'
train_dataloader = dict(dataset=dict(mode='single'))
val_dataloader = dict(dataset=dict(mode='all'))
test_dataloader = dict(dataset=dict(mode='all'))
