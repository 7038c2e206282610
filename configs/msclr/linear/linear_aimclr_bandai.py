_base_ = './linear_ms_aimclr_bandai.py'
model = dict(
    backbone=dict(graph_cfg=dict(layouts=['bandai_bvh_22']), out_norm=False))
train_dataloader = dict(
    dataset=dict(conventions=['bandai_bvh_22'], mode='bandai_bvh_22'))
val_dataloader = dict(dataset=dict(conventions=['bandai_bvh_22']))
test_dataloader = dict(dataset=dict(conventions=['bandai_bvh_22']))
