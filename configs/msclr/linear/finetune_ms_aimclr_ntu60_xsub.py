# Full fine-tuning with all labels (HiCLR's recipe: 70 epochs, steps 30/50).
_base_ = './semi_ms_aimclr_ntu60_xsub_10p.py'
train_dataloader = dict(dataset=dict(label_fraction=None))
train_cfg = dict(max_epochs=70)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, by_epoch=True, begin=0, end=5),
    dict(type='MultiStepLR', milestones=[30, 50], gamma=0.1, by_epoch=True)
]
