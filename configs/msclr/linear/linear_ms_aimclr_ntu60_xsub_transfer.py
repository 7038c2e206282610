# Cross-convention transfer (not in the paper, which claims invariance):
# the classifier trained on Kinect v2 scores SMPL-X clips.
_base_ = './linear_ms_aimclr_ntu60_xsub.py'
model = dict(cls_head=dict(test_classifier='kinectv2_25'))
val_dataloader = dict(dataset=dict(mode='smplx_42'))
test_dataloader = dict(dataset=dict(mode='smplx_42'))
