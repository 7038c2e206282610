# AimCLR baseline on the Bandai subset: the BVH skeleton only.
_base_ = './ms_aimclr_bandai.py'
model = dict(backbone=dict(graph_cfg=dict(layouts=['bandai_bvh_22'])))
train_dataloader = dict(dataset=dict(conventions=['bandai_bvh_22']))
train_cfg = dict(max_epochs=16)
