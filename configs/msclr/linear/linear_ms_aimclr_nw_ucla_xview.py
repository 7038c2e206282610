# Linear evaluation of ms_aimclr_nw_ucla_xview.py: trained on views 1, 2,
# tested on view 3, on the Kinect v1 recording.
_base_ = './linear_ms_aimclr_ntu60_xsub.py'
conventions = ['msr_action3d_20', 'coco']
model = dict(backbone=dict(graph_cfg=dict(layouts=conventions)),
             cls_head=dict(num_classes=10))
ucla = dict(ann_file='data/stores/nw_ucla', conventions=conventions,
            mode='msr_action3d_20')
train_dataloader = dict(dataset=dict(ucla, split='xview_train'))
val_dataloader = test_dataloader = dict(dataset=dict(ucla, split='xview_val'))
