# NTU RGB+D 120, cross-subject: the store as for ms_aimclr_ntu60_xsub.py,
# with tools/data/ntu_to_store.py --benchmark ntu120 --out data/stores/ntu120
# and attach_convention.py --out data/stores/ntu120_msclr.
_base_ = './ms_aimclr_ntu60_xsub.py'
train_dataloader = dict(dataset=dict(ann_file='data/stores/ntu120_msclr'))
