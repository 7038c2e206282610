# The main job's AimCLR (aimclr_synthetic_warmup.py) with the backbone's
# output BatchNorm without affine parameters (MSSTGCN(out_norm=True)), the
# control of ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm.py:
# what the option gives one convention. Evaluate with
# linear_aimclr_synthetic_outnorm.py.
_base_ = ['./aimclr_synthetic_warmup.py']
model = dict(backbone=dict(out_norm=True))
