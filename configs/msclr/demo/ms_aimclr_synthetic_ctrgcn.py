# The main job's CPU-scale MS-AimCLR (ms_aimclr_synthetic.py: the same
# recipe, 256 steps) with the multi-skeleton CTR-GCN encoder at a quarter of
# its standard width (16-32-64, graph mode 'spatial'; one person for its MVC
# input BN; 64-d features as the demo's). The demo's 4-8-16 ST-GCN is too
# narrow for ST-GCN++'s six-branch TCN and CTR-GCN's in/8 relation channels.
# Results: docs/results.md, "Backbones at CPU scale".
_base_ = './ms_aimclr_synthetic.py'
model = dict(backbone=dict(type='MSCTRGCN', graph_cfg=dict(mode='spatial'),
                           channels=(16, 16, 16, 16, 32, 32, 32,
                                     64, 64, 64), num_person=1))
