# Linear evaluation of ms_aimclr_pku1_xsub.py (51 classes).
_base_ = './linear_ms_aimclr_ntu60_xsub.py'
model = dict(cls_head=dict(num_classes=51))
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(ann_file='data/stores/pku1_msclr'))
