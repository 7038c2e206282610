# Linear evaluation (../linear/linear_ms_aimclr_ntu60_xsub.py) of the CTR-GCN
# encoder of ms_aimclr_ctrgcn_ntu60_xsub.py or ms_moco_ctrgcn_ntu60_xsub.py
# (either checkpoint: its backbone.* is loaded).
_base_ = ['../linear/linear_ms_aimclr_ntu60_xsub.py',
          '../../_base_/models/gcn_encoders.py']
model = dict(backbone={{_base_.ctrgcn_encoder}})
