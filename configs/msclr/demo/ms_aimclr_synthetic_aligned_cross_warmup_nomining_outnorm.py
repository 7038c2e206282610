# The main job's MS-AimCLR (ms_aimclr_synthetic_aligned_cross_warmup_nomining.py)
# with the backbone ending in a BatchNorm per convention without affine
# parameters (MSSTGCN(out_norm=True)): each convention's features
# standardised by its own statistics, so the frozen feature carries no
# per-convention mean or scale. In training the projector's hidden BN
# already removes both from every convention-grouped batch; the option
# removes them from what the linear probe, kNN and retrieval see (issue 21's
# convention probe). Evaluate with linear_ms_aimclr_synthetic_outnorm.py.
_base_ = ['./ms_aimclr_synthetic_aligned_cross_warmup_nomining.py']
model = dict(backbone=dict(out_norm=True))
