# AimCLR's ST-GCN encoder (1/4 of the standard channels, 256-d output) as
# MSSTGCN; AimCLR's init: N(0, 0.02) weights, N(1, 0.02) BN scales.
conventions = ['kinectv2_25', 'smplx_42']
aimclr_init = [
    dict(type='Normal', layer=['Conv2d', 'Linear'], std=0.02, bias=0),
    dict(type='Normal', layer=['BatchNorm1d', 'BatchNorm2d'], mean=1,
         std=0.02, bias=0),
]
encoder = dict(
    type='MSSTGCN',
    graph_cfg=dict(
        type='MultiSkeletonGraph', layouts=conventions, mode='stgcn_spatial'),
    channels=(16, 16, 16, 16, 32, 32, 32, 64, 64, 256),
    down_stages=(5, 8),
    tcn_dropout=0.5,
    # initialised by the recognizer's init_cfg (pretraining: AimCLR's) or
    # from a checkpoint (evaluation configs set type='Pretrained')
    init_cfg=None)
