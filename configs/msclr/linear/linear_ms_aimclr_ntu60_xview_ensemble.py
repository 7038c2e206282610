_base_ = './linear_ms_aimclr_ntu60_xsub_ensemble.py'
train_dataloader = dict(dataset=dict(split='xview_train'))
val_dataloader = test_dataloader = dict(dataset=dict(split='xview_val'))
