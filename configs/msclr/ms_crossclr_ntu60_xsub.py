# MS-CrosSCLR on NTU RGB+D 60, cross-subject (input as ms_aimclr_ntu60_xsub.py):
# LinguoLi/CrosSCLR config/CrosSCLR/*.yaml on top of the MS-AimCLR recipe
# (same encoder, projector, queue 32768, momentum 0.999, T 0.07, SGD lr 0.1,
# 300 epochs, step 250, batch 128): joint + motion streams, cross-stream
# mining after epoch 150 (cross_epoch), top-1, context logits; CrosSCLR's two
# views (temporal crop + shear). 3 streams:
#   --cfg-options "model.streams=('joint','motion','bone')"
_base_ = './ms_aimclr_ntu60_xsub.py'
model = dict(
    type='MSCrosSCLR',
    streams=('joint', 'motion'),
    mining_epoch=150,
    topk=1,
    context=True)
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MSMultiView', common={{_base_.prepare}},
             pipelines=dict(query={{_base_.normal_view}},
                            key={{_base_.normal_view}})),
        dict(type='PackMultiSkeletonInputs')
    ]))
