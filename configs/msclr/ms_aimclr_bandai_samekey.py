# ms_aimclr_bandai.py with a second key in the query's convention, its own
# augmentation draws (demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm_samekey.py
# explains it). Issue 21's ablation; `tools/real_results.py --row ms_aimclr:samekey`.
_base_ = ['./ms_aimclr_bandai.py']
model = dict(extra_key_view='key_same')
train_dataloader = dict(dataset=dict(extra_views=dict(key_same='query'),
                                     pipeline={{_base_.two_key_pipeline}}))
