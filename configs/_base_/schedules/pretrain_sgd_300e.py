# AimCLR / MS-CLR pretraining recipe (config/ntu60/pretext/*.yaml of both):
# SGD lr 0.1, momentum 0.9 (no Nesterov), weight decay 1e-4, 300 epochs,
# lr x0.1 at epoch 250, batch 128.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=0)
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=False))
param_scheduler = [
    dict(type='MultiStepLR', milestones=[250], gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=128)
