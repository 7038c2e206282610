_base_ = './linear_ms_aimclr_ntu120_xsub_transfer.py'
train_dataloader = dict(dataset=dict(split='xset_train'))
val_dataloader = test_dataloader = dict(dataset=dict(split='xset_val'))
