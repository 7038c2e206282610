_base_ = './aimclr_ntu120_xsub.py'
train_dataloader = dict(dataset=dict(split='xset_train'))
