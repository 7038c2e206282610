# MoCo v2 pretraining on NTU-60 xsub (MS-CLR without AimCLR's extreme view,
# EADM, D3M and mining): the data, encoder, projector, queue and schedule of
# ms_aimclr_ntu60_xsub.py (its extra 'query_extreme' view goes unused).
_base_ = './ms_aimclr_ntu60_xsub.py'
model = dict(
    _delete_=True,
    type='MSMoCo',
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    queue_len=32768,
    feat_dim=128,
    momentum=0.999,
    temperature=0.07,
    data_preprocessor={{_base_.model.data_preprocessor}},
    init_cfg={{_base_.model.init_cfg}})
