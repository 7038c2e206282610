# Transfer learning: NTU-60 xsub pretraining -> PKU-MMD II xsub, the whole
# network fine-tuned with all labels (the fine-tuning recipe of
# finetune_ms_aimclr_ntu60_xsub.py).
_base_ = './finetune_ms_aimclr_ntu60_xsub.py'
model = dict(
    backbone=dict(init_cfg=dict(
        checkpoint='work_dirs/ms_aimclr_ntu60_xsub/epoch_300.pth')),
    cls_head=dict(num_classes=51))
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(ann_file='data/stores/pku2_msclr'))
