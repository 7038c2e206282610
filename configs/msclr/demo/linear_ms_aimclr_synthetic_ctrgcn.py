# Linear probe (after a per-convention precise BN) of the CTR-GCN encoder of
# ms_aimclr_synthetic_ctrgcn.py.
_base_ = './linear_ms_aimclr_synthetic_precise_bn.py'
model = dict(backbone=dict(type='MSCTRGCN', graph_cfg=dict(mode='spatial'),
                           channels=(16, 16, 16, 16, 32, 32, 32,
                                     64, 64, 64), num_person=1))
