# Linear probe of ms_aimclr_bandai_paper_pairs.py (the paper's form: no
# output BN).
_base_ = './linear_ms_aimclr_bandai.py'
model = dict(backbone=dict(out_norm=False))
