# ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey.py with
# the same-convention key's term at half the weight of the aligned
# cross-convention key's (loss_nce = (L_key + 0.5 L_same) / 1.5): issue
# 21's question whether retrieval, which the second key lowers, comes back
# while the linear probe keeps its gain.
_base_ = ['./ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey.py']
model = dict(extra_key_weight=0.5)
