# aimclr_msr3d_xsub.py with the warm-up of ms_aimclr_msr3d_xsub_warmup.py (the
# same first 36 of its 288 steps): the real-data row
# `--row aimclr:warmup` of tools/real_results.py.
_base_ = './aimclr_msr3d_xsub.py'
param_scheduler = [
    # 4 epochs = the first 36 steps, counted in steps (scaled with the
    # epochs by tools/train.py --steps)
    dict(type='LinearLR', start_factor=0.01, begin=0, end=4,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[28], gamma=0.1)
]
