# Semi-supervised evaluation: 10% of the training labels (class-balanced,
# seeded), the whole network fine-tuned (HiCLR's recipe on the AimCLR code
# base: SGD lr 0.1, wd 1e-4, 60 epochs, steps 20/40; no AimCLR config
# exists). For 1%: label_fraction=0.01.
_base_ = './linear_ms_aimclr_ntu60_xsub.py'
model = dict(backbone=dict(frozen_stages=-1))
train_dataloader = dict(
    batch_size=64, dataset=dict(label_fraction=0.1, label_seed=0))
train_cfg = dict(max_epochs=60)
optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, by_epoch=True, begin=0, end=5),
    dict(type='MultiStepLR', milestones=[20, 40], gamma=0.1, by_epoch=True)
]
