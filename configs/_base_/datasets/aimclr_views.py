# AimCLR's augmented views (Levigty/AimCLR feeder/tools.py), applied to each
# convention independently with that convention's flip permutation.
# Normal view: temporal crop (pad ratio 6, symmetric) + shear 0.5.
normal_view = [
    dict(type='MSTemporalCrop', ratio=6),
    dict(type='MSShear', amplitude=0.5),
]
# Extreme view: normal + flip 0.5, rotation (one main axis up to 30 deg, the
# others up to 1 deg, always), gaussian noise 0.5 (std 0.01), temporal
# gaussian blur 0.5 (15 taps, sigma 0.1-2, AimCLR's unnormalised kernel),
# axis mask 0.5. Streams (bone, motion) are computed after augmentation, on
# the batch, by the data preprocessor (`stream=`), as AimCLR does.
extreme_view = normal_view + [
    dict(type='MSSpatialFlip', p=0.5),
    dict(type='MSRotate', main_angle=30., other_angle=1.),
    dict(type='MSGaussianNoise', p=0.5, std=0.01),
    dict(type='MSGaussianBlur', p=0.5, kernel=15, sigma=(0.1, 2.0)),
    dict(type='MSAxisMask', p=0.5),
]
views = dict(query=normal_view, query_extreme=extreme_view, key=normal_view)
# Stores already preprocessed AimCLR-style (tools/data/ntu_to_store.py
# --preprocess aimclr: centred, shoulders aligned, 50 frames).
pretrain_pipeline = [
    dict(type='MSMultiView', pipelines=views),
    dict(type='PackMultiSkeletonInputs'),
]
# Linear evaluation: no augmentation (AimCLR's Feeder_single with crop and
# shear disabled).
eval_pipeline = [
    dict(type='MSMultiView', default=[]),
    dict(type='PackMultiSkeletonInputs'),
]
# Raw stores (variable length, camera coordinates): the same preprocessing
# online, once per convention before the views.
prepare = [
    dict(type='MSPreNormalize'),
    dict(type='MSResample', clip_len=50),
    dict(type='MSPersonPadding', num_person=2),
]
raw_pretrain_pipeline = [
    dict(type='MSMultiView', common=prepare, pipelines=views),
    dict(type='PackMultiSkeletonInputs'),
]
# aligned cross-convention positives (issue 21): a key in another convention
# replays the query's draws; use with the dataset's pairing='cross'
aligned_pretrain_pipeline = [
    dict(type='MSMultiView', common=prepare, pipelines=views,
         replay=dict(key='query')),
    dict(type='PackMultiSkeletonInputs'),
]
raw_eval_pipeline = [
    dict(type='MSMultiView', common=prepare, default=[]),
    dict(type='PackMultiSkeletonInputs'),
]
