_base_ = './linear_ms_aimclr_ntu60_xsub.py'
model = dict(cls_head=dict(num_classes=120))
train_dataloader = dict(dataset=dict(ann_file='data/ntu120_msclr'))
val_dataloader = dict(dataset=dict(ann_file='data/ntu120_msclr'))
test_dataloader = dict(dataset=dict(ann_file='data/ntu120_msclr'))
