# Cross-convention transfer: the BVH-skeleton classifier scores COCO clips.
_base_ = './linear_ms_aimclr_bandai.py'
model = dict(cls_head=dict(test_classifier='bandai_bvh_22'))
val_dataloader = dict(dataset=dict(mode='coco'))
test_dataloader = dict(dataset=dict(mode='coco'))
