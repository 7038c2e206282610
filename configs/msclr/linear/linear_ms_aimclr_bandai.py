_base_ = '../demo/linear_ms_aimclr_synthetic.py'
conventions = ['bandai_bvh_22', 'coco']
model = dict(
    backbone=dict(graph_cfg=dict(layouts=conventions), out_norm=True),
    cls_head=dict(num_classes=10))
train_dataloader = dict(
    batch_size=32,
    dataset=dict(ann_file='data/bandai', conventions=conventions,
                 split='xstyle_train'))
val_dataloader = dict(
    dataset=dict(ann_file='data/bandai', conventions=conventions,
                 split='xstyle_val', mode='bandai_bvh_22'))
test_dataloader = val_dataloader
