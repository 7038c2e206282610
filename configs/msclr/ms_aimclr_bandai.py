# MS-AimCLR on the Bandai Namco mocap subset (10 classes; split by style:
# 5 styles train, 'normal' and 'youthful' validate), CPU-sized. Input:
#   python tools/data/bvh_to_store.py --out data/bandai --derived coco \
#       --root ../shared/data/bandai_namco_motion2_subset
# Conventions: the BVH skeleton by forward kinematics (bandai_bvh_22) and a
# COCO-17 rendering of the same motion (built-in joint regressors).
# Positives: the main job's (issue 21's ablation, docs/results.md): every key
# renders the other convention (pairing='cross') and replays the query's
# augmentation draws, so a pair differs by the skeleton convention alone.
# The paper's form (random pairing, independent draws):
# ms_aimclr_bandai_paper_pairs.py.
_base_ = './demo/ms_aimclr_synthetic_aligned_cross.py'
conventions = ['bandai_bvh_22', 'coco']
# the CPU recipe of the base (motion stream, queue of 64 = two batches;
# docs/results.md), 16 epochs over clips x 2 conventions: twice the base's
# epochs, on a smaller set (288 steps on MSR, 160 on Bandai; 8 epochs gave
# AimCLR's kNN still rising at the end)
model = dict(backbone=dict(graph_cfg=dict(layouts=conventions)), mining_epoch=12)
train_cfg = dict(max_epochs=16)
param_scheduler = [dict(type='MultiStepLR', milestones=[14], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=16))
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        ann_file='data/bandai', conventions=conventions,
        split='xstyle_train'))
