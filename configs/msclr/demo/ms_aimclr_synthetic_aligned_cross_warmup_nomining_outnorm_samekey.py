# The main job's MS-AimCLR (ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm.py)
# with a second positive: a key in the QUERY's convention with its own
# augmentation draws (MSMoCo(extra_key_view='key_same'), the dataset's
# extra_views). The aligned cross-convention key differs from the query by
# the convention alone; this key brings back AimCLR's positive (another
# crop and shear of the same clip), so each query learns both invariances.
# Issue 21's ablation; one more key-encoder pass a step.
_base_ = ['./ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm.py']
model = dict(extra_key_view='key_same')
train_dataloader = dict(dataset=dict(extra_views=dict(key_same='query'),
                                     pipeline={{_base_.two_key_pipeline}}))
