# MS-AimCLR on NTU-60 xsub (../ms_aimclr_ntu60_xsub.py) with the
# multi-skeleton ST-GCN++ encoder (../../_base_/models/gcn_encoders.py).
_base_ = ['../ms_aimclr_ntu60_xsub.py', '../../_base_/models/gcn_encoders.py']
model = dict(backbone={{_base_.stgcnpp_encoder}})
