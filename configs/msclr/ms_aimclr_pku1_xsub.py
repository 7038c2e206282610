# MS-AimCLR on PKU-MMD Phase I, cross-subject (51 classes), with the NTU
# recipe (the paper has no PKU-MMD experiment). The store (Kinect v2 +
# SMPL-X from the RGB videos, docs/data_preparation.md):
#   python tools/data/pku_mmd_to_store.py --skeletons-dir <pku>/skeleton \
#       --labels-dir <pku>/label --out data/stores/pku1_msclr \
#       --split xsub=<pku>/cross-subject.txt xview=<pku>/cross-view.txt \
#       --estimated smplx_42=data/pku1_metrabs
_base_ = './ms_aimclr_ntu60_xsub.py'
train_dataloader = dict(dataset=dict(ann_file='data/stores/pku1_msclr'))
