# AimCLR baseline on NTU RGB+D 120 (Kinect v2 only), store as
# ms_aimclr_ntu120_xsub.py.
_base_ = './aimclr_ntu60_xsub.py'
train_dataloader = dict(dataset=dict(ann_file='data/stores/ntu120_msclr'))
