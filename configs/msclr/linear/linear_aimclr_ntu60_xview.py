_base_ = './linear_aimclr_ntu60_xsub.py'
train_dataloader = dict(dataset=dict(split='xview_train'))
val_dataloader = test_dataloader = dict(dataset=dict(split='xview_val'))
