# Linear probe of ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm.py
# (the backbone's per-convention output BN, MSSTGCN(out_norm=True)), as the
# paper evaluates: the main job's --paper-eval; with the per-convention
# precise BN: linear_ms_aimclr_synthetic_outnorm_precise_bn.py.
_base_ = './linear_ms_aimclr_synthetic.py'
model = dict(backbone=dict(out_norm=True))
