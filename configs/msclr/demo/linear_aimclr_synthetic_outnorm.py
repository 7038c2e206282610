# Linear probe of aimclr_synthetic_warmup_outnorm.py.
_base_ = './linear_aimclr_synthetic.py'
model = dict(backbone=dict(out_norm=True))
