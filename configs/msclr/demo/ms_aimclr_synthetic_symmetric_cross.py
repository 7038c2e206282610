# The symmetrised loss with every positive from the other convention
# (symmetric=True, pairing='cross'): issue 21's ablation.
_base_ = ['./ms_aimclr_synthetic_symmetric.py', './ms_aimclr_synthetic_cross.py']
