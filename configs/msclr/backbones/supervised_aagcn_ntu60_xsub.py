# mmaction2's own supervised 2s-AGCN (AAGCN) recipe (NTU-60 xsub, 3D joints,
# 80 epochs) with its backbone swapped for the multi-skeleton one
# (MSAAGCN.from_aagcn converts its checkpoints).
_base_ = 'mmaction::skeleton/2s-agcn/2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.py'  # noqa: E501
custom_imports = dict(imports=['msclr_plugin'], allow_failed_imports=False)
model = dict(backbone=dict(type='MSAAGCN'))
