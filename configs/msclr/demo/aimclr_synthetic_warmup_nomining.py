# aimclr_synthetic_warmup.py without nearest-neighbour mining
# (mining_epoch = the last epoch): the single-convention row of issue 21's
# mining ablation (ms_aimclr_synthetic_aligned_cross_warmup_nomining.py).
_base_ = ['./aimclr_synthetic_warmup.py']
model = dict(mining_epoch=16)
