# aimclr_bandai.py with the warm-up of ms_aimclr_bandai.py (the
# same first 40 of its 320 steps): the real-data row
# `--row aimclr:warmup` of tools/real_results.py.
_base_ = './aimclr_bandai.py'
param_scheduler = [
    # 8 epochs = the first 40 steps, counted in steps (scaled with the
    # epochs by tools/train.py --steps)
    dict(type='LinearLR', start_factor=0.01, begin=0, end=8,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[56], gamma=0.1)
]
