# MS-AimCLR on the main job's data with MoCo v3's projector output BN
# (MSProjectionNeck(out_norm_cfg=...)): the embeddings are centred before
# the cosine, so the loss has a gradient from the first step (with the main
# job's projector every pair starts at cosine 0.99 and the first 2-3 epochs
# barely move the loss). Issue 21's ablation; aimclr_synthetic_outbn.py is
# its AimCLR counterpart.
_base_ = ['./ms_aimclr_synthetic.py']
model = dict(neck=dict(out_norm_cfg=dict(type='BN1d', affine=False)))
