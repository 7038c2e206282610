# Linear probe (after a per-convention precise BN) of the ST-GCN++ encoder of
# ms_aimclr_synthetic_stgcnpp.py.
_base_ = './linear_ms_aimclr_synthetic_precise_bn.py'
model = dict(backbone=dict(type='MSSTGCNPlusPlus', graph_cfg=dict(mode='spatial'),
                           channels=(16, 16, 16, 16, 32, 32, 32,
                                     64, 64, 64)))
