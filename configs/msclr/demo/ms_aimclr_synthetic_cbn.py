# The main job's MS-AimCLR with BatchNorm statistics per convention in every
# BN of the blocks and of the projector (affine parameters shared): each
# convention-grouped batch is normalised by its convention's statistics in
# training AND evaluation (issue 21). Evaluate with
# linear_ms_aimclr_synthetic_cbn.py.
_base_ = './ms_aimclr_synthetic.py'
model = dict(
    backbone=dict(per_convention_bn=True, shared_bn_affine=True),
    neck=dict(per_convention_bn=True, shared_bn_affine=True))
