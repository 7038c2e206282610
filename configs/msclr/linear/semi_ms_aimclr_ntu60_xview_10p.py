_base_ = './semi_ms_aimclr_ntu60_xsub_10p.py'
train_dataloader = dict(dataset=dict(split='xview_train'))
val_dataloader = test_dataloader = dict(dataset=dict(split='xview_val'))
