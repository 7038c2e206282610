_base_ = './ms_aimclr_ntu60_xsub.py'
train_dataloader = dict(dataset=dict(split='xview_train'))
