# CTR-GCN trained with mmaction2's supervised ST-GCN++ recipe (NTU-60 xsub,
# 3D joints, 80 epochs; mmaction2 ships no CTR-GCN config): the backbone
# swapped for the multi-skeleton CTR-GCN.
_base_ = 'mmaction::skeleton/stgcnpp/stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.py'  # noqa: E501
custom_imports = dict(imports=['msclr_plugin'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='MSCTRGCN',
        graph_cfg=dict(layout='nturgb+d', mode='spatial')))
