# MS-AimCLR on the main job's data with ALIGNED cross-convention positives:
# when the key renders another convention than the query, it replays the
# query's augmentation draws (same crop window, same shear), so the pair
# differs by the skeleton convention alone (MSMultiView(replay=...)).
# Same-convention pairs keep independent draws (AimCLR's positives).
# Issue 21's ablation; docs/pretraining.md.
_base_ = ['./ms_aimclr_synthetic.py']
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MSMultiView', common={{_base_.cpu_prepare}},
             pipelines={{_base_.views}}, replay=dict(key='query')),
        dict(type='PackMultiSkeletonInputs')
    ]))
