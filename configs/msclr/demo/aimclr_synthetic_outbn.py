# AimCLR (Kinect v2 only) with the projector output BN of
# ms_aimclr_synthetic_outbn.py: the single-convention baseline of that
# option, trained as aimclr_synthetic.py.
_base_ = ['./aimclr_synthetic.py']
model = dict(neck=dict(out_norm_cfg=dict(type='BN1d', affine=False)))
