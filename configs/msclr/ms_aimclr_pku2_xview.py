_base_ = './ms_aimclr_pku2_xsub.py'
train_dataloader = dict(dataset=dict(split='xview_train'))
