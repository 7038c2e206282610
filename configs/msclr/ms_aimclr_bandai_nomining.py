# ms_aimclr_bandai.py without nearest-neighbour mining (mining_epoch = the
# last epoch): issue 21's mining ablation on real data
# (demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining.py, docs/results.md).
_base_ = ['./ms_aimclr_bandai.py']
model = dict(mining_epoch=16)
