# ms_aimclr_synthetic_cbn.py with an affine transform per convention too.
# Evaluate with linear_ms_aimclr_synthetic_cbn_affine.py.
_base_ = './ms_aimclr_synthetic_cbn.py'
model = dict(
    backbone=dict(shared_bn_affine=False), neck=dict(shared_bn_affine=False))
