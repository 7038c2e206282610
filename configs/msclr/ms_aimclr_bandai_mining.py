# ms_aimclr_bandai.py with nearest-neighbour mining from 3/4 of training
# (AimCLR's), all else the same: issue 21's mining ablation on real data
# (docs/results.md, "Nearest-neighbour mining and schedule length").
_base_ = ['./ms_aimclr_bandai.py']
model = dict(mining_epoch=24)
