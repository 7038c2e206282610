_base_ = './finetune_ms_aimclr_ntu60_xsub.py'
model = dict(cls_head=dict(num_classes=120))
dataset = dict(ann_file='data/stores/ntu120_msclr')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = val_dataloader
