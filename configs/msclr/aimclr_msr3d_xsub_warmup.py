# aimclr_msr3d_xsub.py with the warm-up of ms_aimclr_msr3d_xsub.py (the same
# first 72 of its 576 steps): the real-data row `--row aimclr:warmup` of
# tools/real_results.py.
_base_ = './aimclr_msr3d_xsub.py'
param_scheduler = [
    # 8 epochs = the first 72 steps, counted in steps (scaled with the
    # epochs by tools/train.py --steps)
    dict(type='LinearLR', start_factor=0.01, begin=0, end=8,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[56], gamma=0.1)
]
