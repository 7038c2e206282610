_base_ = './ms_aimclr_ntu120_xsub.py'
train_dataloader = dict(dataset=dict(split='xset_train'))
