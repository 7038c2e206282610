_base_ = './ms_aimclr_pku1_xsub.py'
train_dataloader = dict(dataset=dict(split='xview_train'))
