# aimclr_synthetic.py with the linear learning-rate warm-up of
# ms_aimclr_synthetic_aligned_cross_warmup.py (the same first 32 steps):
# the main job's AimCLR (tools/demo.py) since 2026-12-05, so that both
# methods keep one schedule.
_base_ = ['./aimclr_synthetic.py']
param_scheduler = [
    # 2 epochs = the first 32 steps, counted in steps (scaled with the
    # epochs by tools/train.py --steps)
    dict(type='LinearLR', start_factor=0.01, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[14], gamma=0.1)
]
