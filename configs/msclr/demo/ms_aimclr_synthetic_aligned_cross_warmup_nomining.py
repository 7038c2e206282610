# ms_aimclr_synthetic_aligned_cross_warmup.py without nearest-neighbour
# mining (mining_epoch = the last epoch: every epoch keeps one positive):
# issue 21's question whether mining's extra positives, which pull a clip's
# neighbours together, cost the instance-level cross-convention retrieval.
_base_ = ['./ms_aimclr_synthetic_aligned_cross_warmup.py']
model = dict(mining_epoch=8)
