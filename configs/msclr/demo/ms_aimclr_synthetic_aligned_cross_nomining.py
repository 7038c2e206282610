# ms_aimclr_synthetic_aligned_cross.py without nearest-neighbour mining and
# without the warm-up: issue 21's test of what the warm-up adds to the main
# job's recipe on real data (docs/results.md, "The presets' step budgets").
_base_ = ['./ms_aimclr_synthetic_aligned_cross.py']
model = dict(mining_epoch=8)
