# The symmetrised loss with every positive from the other convention
# (symmetric=True, pairing='cross'): issue 21's ablation.
_base_ = './ms_aimclr_synthetic_symmetric.py'
train_dataloader = dict(dataset=dict(pairing='cross'))
