_base_ = './semi_ms_aimclr_ntu120_xsub_10p.py'
train_dataloader = dict(dataset=dict(split='xset_train'))
val_dataloader = test_dataloader = dict(dataset=dict(split='xset_val'))
