# Runtime shared by every msclr_plugin config.
custom_imports = dict(imports=['msclr_plugin'], allow_failed_imports=False)
default_scope = 'mmaction'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
    # epochs of the grouped sampler vary in length: keeps the ETA right
    epoch_length=dict(type='EpochLengthHook'))

# generators in checkpoints: kill-and-resume is exact (docs/pretraining.md);
# labels checked against the classifier before the first step
custom_hooks = [dict(type='RNGStateHook'), dict(type='LabelRangeHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # gloo where there is no CUDA (msclr_plugin.utils.launch)
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)

# TensorBoard: add dict(type='TensorboardVisBackend') (pip install tensorboard)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
