# Linear evaluation of ms_aimclr_pku1_xsub.py (51 classes).
_base_ = './linear_ms_aimclr_ntu60_xsub.py'
model = dict(cls_head=dict(num_classes=51))
dataset = dict(ann_file='data/stores/pku1_msclr')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = val_dataloader
