_base_ = './linear_aimclr_ntu60_xsub.py'
model = dict(cls_head=dict(num_classes=120))
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(ann_file='data/stores/ntu120_msclr'))
