# linear_ms_aimclr_synthetic_outnorm.py after a per-convention precise BN
# (which re-estimates the output BN's statistics too): the main job's
# evaluation of MS-AimCLR and of the random encoder.
_base_ = './linear_ms_aimclr_synthetic_outnorm.py'
precise_bn_per_convention = True
