# NTU RGB+D 120 (tools/data/ntu_to_store.py --benchmark ntu120 ...)
_base_ = './ms_aimclr_ntu60_xsub.py'
train_dataloader = dict(
    dataset=dict(ann_file='data/ntu120_msclr', split='xsub_train'))
