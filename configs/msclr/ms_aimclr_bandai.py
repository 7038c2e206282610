# MS-AimCLR on the Bandai Namco mocap subset (10 classes; split by style:
# 5 styles train, 'normal' and 'youthful' validate), CPU-sized. Input:
#   python tools/data/bvh_to_store.py --out data/bandai --derived coco \
#       --root ../shared/data/bandai_namco_motion2_subset
# Conventions: the BVH skeleton by forward kinematics (bandai_bvh_22) and a
# COCO-17 rendering of the same motion (built-in joint regressors).
_base_ = './demo/ms_aimclr_synthetic.py'
conventions = ['bandai_bvh_22', 'coco']
# the CPU recipe and schedule of the base (motion stream, queue of 64 = two
# batches, 8 epochs over clips x 2 conventions; docs/results.md)
model = dict(backbone=dict(graph_cfg=dict(layouts=conventions)))
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        ann_file='data/bandai', conventions=conventions,
        split='xstyle_train'))
