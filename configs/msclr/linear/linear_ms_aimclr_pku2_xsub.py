_base_ = './linear_ms_aimclr_pku1_xsub.py'
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(ann_file='data/stores/pku2_msclr'))
