# MoCo v2 on NTU-60 xsub (../ms_moco_ntu60_xsub.py) with the multi-skeleton
# CTR-GCN encoder (../../_base_/models/gcn_encoders.py).
_base_ = ['../ms_moco_ntu60_xsub.py', '../../_base_/models/gcn_encoders.py']
model = dict(backbone={{_base_.ctrgcn_encoder}})
