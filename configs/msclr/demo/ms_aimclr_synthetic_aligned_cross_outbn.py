# Aligned cross-convention positives (ms_aimclr_synthetic_aligned_cross.py)
# with the projector output BN (ms_aimclr_synthetic_outbn.py).
_base_ = ['./ms_aimclr_synthetic_aligned_cross.py']
model = dict(neck=dict(out_norm_cfg=dict(type='BN1d', affine=False)))
