# mmaction2's own supervised ST-GCN++ recipe (NTU-60 xsub, 3D joints, 80
# epochs) with its backbone swapped for the multi-skeleton one: the same
# network (MSSTGCN.from_stgcn converts its checkpoints), ready for more
# conventions in graph_cfg.
_base_ = 'mmaction::skeleton/stgcnpp/stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.py'  # noqa: E501
custom_imports = dict(imports=['msclr_plugin'], allow_failed_imports=False)
model = dict(backbone=dict(type='MSSTGCNPlusPlus'))
