# PKU-MMD Phase II (split lists cross_subject_v2.txt, cross_view_v2.txt).
_base_ = './ms_aimclr_pku1_xsub.py'
train_dataloader = dict(dataset=dict(ann_file='data/stores/pku2_msclr'))
