# ms_aimclr_bandai.py without the learning-rate warm-up, all else the same:
# issue 21's warm-up ablation on real data (docs/results.md, "The presets'
# step budgets").
_base_ = './ms_aimclr_bandai.py'
param_scheduler = [dict(type='MultiStepLR', milestones=[28], gamma=0.1)]
