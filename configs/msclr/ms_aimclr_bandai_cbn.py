# ms_aimclr_bandai_paper_pairs.py with per-convention BatchNorm statistics
# (issue 21);
# evaluate with linear/linear_ms_aimclr_bandai_cbn.py.
_base_ = './ms_aimclr_bandai_paper_pairs.py'
model = dict(
    backbone=dict(per_convention_bn=True, shared_bn_affine=True),
    neck=dict(per_convention_bn=True, shared_bn_affine=True))
