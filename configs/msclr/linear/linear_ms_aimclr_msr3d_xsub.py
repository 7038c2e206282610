# Linear probe for the MSR Action3D pretrainings: classifiers per convention,
# tested on the Kinect v1 recording (use the _ensemble variant for all).
_base_ = '../demo/linear_ms_aimclr_synthetic.py'
conventions = ['msr_action3d_20', 'coco']
model = dict(
    backbone=dict(graph_cfg=dict(layouts=conventions), out_norm=True),
    cls_head=dict(num_classes=20))
train_dataloader = dict(
    batch_size=32, dataset=dict(ann_file='data/msr3d', conventions=conventions))
val_dataloader = dict(
    dataset=dict(ann_file='data/msr3d', conventions=conventions,
                 mode='msr_action3d_20'))
test_dataloader = val_dataloader
