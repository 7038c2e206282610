# Aligned positives (ms_aimclr_synthetic_aligned.py) with every key from the
# other convention (pairing='cross'): issue 21's ablation.
_base_ = ['./ms_aimclr_synthetic_aligned.py']
train_dataloader = dict(dataset=dict(pairing='cross'))
