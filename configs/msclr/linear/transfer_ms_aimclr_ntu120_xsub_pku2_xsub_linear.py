# Transfer learning: NTU-120 xsub pretraining -> PKU-MMD II xsub linear probe.
_base_ = './transfer_ms_aimclr_ntu60_xsub_pku2_xsub_linear.py'
model = dict(backbone=dict(init_cfg=dict(
    checkpoint='work_dirs/ms_aimclr_ntu120_xsub/epoch_300.pth')))
