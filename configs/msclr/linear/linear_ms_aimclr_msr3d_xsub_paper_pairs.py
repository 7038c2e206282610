# Linear probe of ms_aimclr_msr3d_xsub_paper_pairs.py (the paper's form: no
# output BN).
_base_ = './linear_ms_aimclr_msr3d_xsub.py'
model = dict(backbone=dict(out_norm=False))
