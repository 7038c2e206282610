# ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey.py with
# the same-convention key's weight moved linearly from 1 at the first step
# to 0 at the last (LinearWeightScheduleHook): a curriculum. Issue 21's
# question: the second key steadies the start (the seed that began badly
# without it recovers) but lowers retrieval; does handing the whole loss
# back to the cross-convention key by the end keep the first and undo the
# second?
_base_ = ['./ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey.py']
default_hooks = dict(extra_key_weight=dict(
    type='LinearWeightScheduleHook', attr='extra_key_weight', end=0.))
