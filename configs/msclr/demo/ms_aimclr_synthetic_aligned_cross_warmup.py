# ms_aimclr_synthetic_aligned_cross.py with a linear learning-rate warm-up
# over the first epoch (32 steps, from 1 % of the rate): issue 21's remedy
# for the start collapse (a seed in five whose embeddings stay in one narrow
# cone and end near the random encoder; docs/results.md). The main job's
# MS-AimCLR (tools/demo.py) since 2026-12-05.
_base_ = ['./ms_aimclr_synthetic_aligned_cross.py']
param_scheduler = [
    # 1 epoch = the first 32 steps, counted in steps (scaled with the
    # epochs by tools/train.py --steps)
    dict(type='LinearLR', start_factor=0.01, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[7], gamma=0.1)
]
