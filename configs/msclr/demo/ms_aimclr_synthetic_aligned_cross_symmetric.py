# The main job's MS-AimCLR (aligned cross-convention positives) with the
# symmetrised loss (symmetric=True: each rendering also acts as the query of
# the other): issue 21's ablation.
_base_ = ['./ms_aimclr_synthetic_aligned_cross.py']
model = dict(symmetric=True)
