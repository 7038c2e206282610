# Transfer learning, as the field reports it: pretrain on NTU-60 xsub
# (configs/msclr/ms_aimclr_ntu60_xsub.py), then a linear probe on the frozen
# encoder on PKU-MMD Phase II xsub (51 classes; store as
# ms_aimclr_pku2_xsub.py). The checkpoint is tools/train.py's default work
# dir (tools/reproduce_paper.py --transfer passes its own).
_base_ = './linear_ms_aimclr_pku2_xsub.py'
model = dict(backbone=dict(init_cfg=dict(
    checkpoint='work_dirs/ms_aimclr_ntu60_xsub/epoch_300.pth')))
