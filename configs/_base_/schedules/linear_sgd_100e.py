# AimCLR / MS-CLR linear evaluation (config/ntu60/linear_eval/*.yaml):
# SGD lr 3.0, momentum 0.9, no weight decay, 100 epochs, lr x0.1 at epoch
# 80, batch 128; only the classifier trains.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_begin=1,
                 val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=3.0, momentum=0.9, weight_decay=0.0, nesterov=False))
param_scheduler = [
    dict(type='MultiStepLR', milestones=[80], gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=128)
