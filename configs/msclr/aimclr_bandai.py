# AimCLR baseline on the Bandai subset: the BVH skeleton only.
_base_ = './ms_aimclr_bandai_paper_pairs.py'
train_dataloader = dict(dataset=dict(conventions=['bandai_bvh_22']))
# the same number of steps as MS-AimCLR (its epochs hold twice the items),
# with the LR step and mining start at the same fraction of training
model = dict(
    backbone=dict(graph_cfg=dict(layouts=['bandai_bvh_22'])), mining_epoch=48)
train_cfg = dict(max_epochs=64)
param_scheduler = [dict(type='MultiStepLR', milestones=[56], gamma=0.1)]
