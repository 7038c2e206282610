# MS-AimCLR on Northwestern-UCLA, cross-view (views 1, 2 train; view 3
# tests; 10 classes) with the NTU recipe. The store
# (docs/data_preparation.md, "NW-UCLA"):
#   python tools/data/nw_ucla_to_store.py --data-dir data/NW-UCLA/all_sqe \
#       --out data/stores/nw_ucla --derived coco
# Conventions, as for MSR Action3D: the Kinect v1 recording and a COCO-17
# rendering of the same motion (built-in joint regressor).
_base_ = './ms_aimclr_ntu60_xsub.py'
conventions = ['msr_action3d_20', 'coco']
model = dict(backbone=dict(graph_cfg=dict(layouts=conventions)))
train_dataloader = dict(dataset=dict(
    ann_file='data/stores/nw_ucla', conventions=conventions, split='xview_train'))
