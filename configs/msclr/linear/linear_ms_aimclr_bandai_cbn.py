# Linear probe of ../ms_aimclr_bandai_cbn.py (per-convention BN statistics).
_base_ = './linear_ms_aimclr_bandai.py'
model = dict(backbone=dict(per_convention_bn=True, shared_bn_affine=True,
                           out_norm=False))
