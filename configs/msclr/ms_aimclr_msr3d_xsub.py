# MS-AimCLR on MSR Action3D, cross-subject (odd subjects train), CPU-sized
# (minutes on 2 cores). Input:
#   python tools/data/msr3d_to_store.py --out data/msr3d --derived coco \
#       --data-dir ../shared/data/msr_action3d/real_world_coordinates
# Conventions: the Kinect v1 recording itself (msr_action3d_20) and a COCO-17
# rendering of the same motion through the built-in joint regressor
# (docs/skeletons.md).
_base_ = './demo/ms_aimclr_synthetic.py'
conventions = ['msr_action3d_20', 'coco']
model = dict(backbone=dict(graph_cfg=dict(layouts=conventions)))
train_dataloader = dict(
    batch_size=32, dataset=dict(ann_file='data/msr3d', conventions=conventions))
