_base_ = './aimclr_ntu60_xsub.py'
train_dataloader = dict(dataset=dict(split='xview_train'))
