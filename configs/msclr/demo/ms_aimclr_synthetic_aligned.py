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
# the same with a second key in the query's convention, its own draws: the
# pipeline of the two-key variants (*_samekey.py: the dataset's
# extra_views=dict(key_same='query'), MSMoCo(extra_key_view='key_same'))
two_key_pipeline = [
    dict(type='MSMultiView', common={{_base_.cpu_prepare}},
         pipelines=dict(query={{_base_.normal_view}},
                        query_extreme={{_base_.extreme_view}},
                        key={{_base_.normal_view}},
                        key_same={{_base_.normal_view}}),
         replay=dict(key='query')),
    dict(type='PackMultiSkeletonInputs')
]
