_base_ = './linear_ms_aimclr_pku1_xsub.py'
dataset = dict(ann_file='data/stores/pku2_msclr')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = val_dataloader
