# MS-AimCLR: MoCo v2 queue 32768, momentum 0.999, temperature 0.07, EADM
# keep 0.7, D3M, nearest-neighbour mining (top-1) after epoch 150, AimCLR's
# 256-256-128 projector.
_base_ = './aimclr_encoder.py'
model = dict(
    type='MSAimCLR',
    backbone={{_base_.encoder}},
    neck=dict(
        type='MSProjectionNeck',
        in_channels=256,
        hid_channels=256,
        out_channels=128,
        init_cfg={{_base_.aimclr_init}}),
    queue_len=32768,
    feat_dim=128,
    momentum=0.999,
    temperature=0.07,
    mining_epoch=150,
    topk=1,
    data_preprocessor=dict(
        type='MultiSkeletonDataPreprocessor', stream='joint'),
    init_cfg={{_base_.aimclr_init}})
