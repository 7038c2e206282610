# Linear probe of ms_aimclr_synthetic_cbn_affine.py.
_base_ = './linear_ms_aimclr_synthetic.py'
model = dict(backbone=dict(per_convention_bn=True, shared_bn_affine=False))
