# Cross-convention transfer: the Kinect v1 classifier scores COCO clips.
_base_ = './linear_ms_aimclr_msr3d_xsub.py'
model = dict(cls_head=dict(test_classifier='msr_action3d_20'))
val_dataloader = dict(dataset=dict(mode='coco'))
test_dataloader = dict(dataset=dict(mode='coco'))
