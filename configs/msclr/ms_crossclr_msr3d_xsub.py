# MS-CrosSCLR on MSR Action3D, cross-subject, CPU-sized: MSCrosSCLR's
# CrosSCLR defaults (joint + motion streams, top-1, context logits) with
# cross-stream mining in the second half of the schedule (CrosSCLR:
# cross_epoch 150 of 300). Input as ms_aimclr_msr3d_xsub.py. CrosSCLR's two
# views only (temporal crop + shear): the extreme view would go unused.
_base_ = './ms_aimclr_msr3d_xsub_paper_pairs.py'
# MSCrosSCLR computes its streams from the joints itself
model = dict(type='MSCrosSCLR', mining_epoch=16,
             data_preprocessor=dict(stream='joint'))
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MSMultiView', common={{_base_.cpu_prepare}},
             pipelines=dict(query={{_base_.normal_view}},
                            key={{_base_.normal_view}})),
        dict(type='PackMultiSkeletonInputs')
    ]))
