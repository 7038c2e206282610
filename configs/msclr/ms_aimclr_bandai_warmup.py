# ms_aimclr_bandai.py with a linear learning-rate warm-up over the first
# eighth of its 160 steps (from 1 % of the rate), as the main job's
# demo/ms_aimclr_synthetic_aligned_cross_warmup.py: issue 21's remedy for the
# start collapse, the real-data row `--row ms_aimclr:warmup` of
# tools/real_results.py.
_base_ = './ms_aimclr_bandai.py'
param_scheduler = [
    # 2 epochs = the first 20 steps, counted in steps (scaled with the
    # epochs by tools/train.py --steps)
    dict(type='LinearLR', start_factor=0.01, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[14], gamma=0.1)
]
