# Linear probe of the joint stream of ms_crossclr_msr3d_xsub.py. An
# MSCrosSCLR checkpoint holds one encoder per stream under
# 'streams.<stream>.backbone.'; for the motion stream set
#   model.backbone.init_cfg.prefix=streams.motion.backbone.
#   model.data_preprocessor.stream=motion
_base_ = './linear_ms_aimclr_msr3d_xsub.py'
model = dict(data_preprocessor=dict(stream='joint'),
             backbone=dict(init_cfg=dict(prefix='streams.joint.backbone.'),
                           out_norm=False))
