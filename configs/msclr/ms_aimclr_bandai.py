# MS-AimCLR on the Bandai Namco mocap subset (10 classes; split by style:
# 5 styles train, 'normal' and 'youthful' validate), CPU-sized. Input:
#   python tools/data/bvh_to_store.py --out data/bandai --derived coco \
#       --root ../shared/data/bandai_namco_motion2_subset
# Conventions: the BVH skeleton by forward kinematics (bandai_bvh_22) and a
# COCO-17 rendering of the same motion (built-in joint regressors).
# The recipe: the main job's MS-AimCLR (issue 21's ablation winner on the
# synthetic data and on MSR, docs/results.md): every key renders the other
# convention (pairing='cross') and replays the query's augmentation draws,
# no nearest-neighbour mining, a learning-rate warm-up over the first
# eighth, the backbone's per-convention output BN (out_norm). The paper's
# form (random pairing, independent draws, mining from 3/4 of training, no
# warm-up, no output BN): ms_aimclr_bandai_paper_pairs.py; one change at a
# time: _mining.py, _nowarmup.py (set model.backbone.out_norm=False for the
# output BN, with the linear config's).
_base_ = './demo/ms_aimclr_synthetic_aligned_cross_warmup_nomining_outnorm.py'
conventions = ['bandai_bvh_22', 'coco']
# the CPU recipe of the base (motion stream, queue of 64 = two batches;
# docs/results.md), 32 epochs over clips x 2 conventions = 320 steps (160
# until 2026-12-06: on Bandai's 7 cross-style folds, 10 seeds, 320 steps
# took retrieval beyond the random encoder's spread where 160 did not;
# docs/results.md "Bandai cross-validated"); mining_epoch = the last
# epoch: no mining
model = dict(
    backbone=dict(graph_cfg=dict(layouts=conventions)), mining_epoch=32)
train_cfg = dict(max_epochs=32)
param_scheduler = [
    # 4 epochs = the first 40 steps, counted in steps (scaled with the
    # epochs by tools/train.py --steps)
    dict(type='LinearLR', start_factor=0.01, begin=0, end=4,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[28], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=32))
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        ann_file='data/bandai', conventions=conventions,
        split='xstyle_train'))
