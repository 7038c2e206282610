# Cross-convention transfer: the Kinect v2 classifier scores COCO clips.
_base_ = './linear_ms_aimclr_synthetic.py'
model = dict(cls_head=dict(test_classifier='kinectv2_25'))
val_dataloader = dict(dataset=dict(mode='coco'))
test_dataloader = dict(dataset=dict(mode='coco'))
