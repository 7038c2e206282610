# ms_aimclr_synthetic_aligned_cross_warmup.py with nearest-neighbour mining
# restricted to queue entries of the other convention
# (MSAimCLR(mining_scope='other_convention')): issue 21's mining ablation.
# Mining every entry costs MS-AimCLR on every measure
# (..._warmup_nomining.py, docs/results.md); the question is whether mined
# positives from the other convention give back what mining is for.
_base_ = ['./ms_aimclr_synthetic_aligned_cross_warmup.py']
model = dict(mining_scope='other_convention')
