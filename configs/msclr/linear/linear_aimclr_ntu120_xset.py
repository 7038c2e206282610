_base_ = './linear_aimclr_ntu120_xsub.py'
train_dataloader = dict(dataset=dict(split='xset_train'))
val_dataloader = test_dataloader = dict(dataset=dict(split='xset_val'))
