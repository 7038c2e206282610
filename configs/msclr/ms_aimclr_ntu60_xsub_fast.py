# MS-AimCLR on NTU-60 xsub, same recipe, with the fast GPU step: bfloat16
# autocast without loss scaling, forward + backward replayed from CUDA
# graphs (one per convention pair of the grouped batches), batches pinned
# and copied without blocking, cuDNN autotuned for the fixed shapes
# (docs/benchmarks.md, "GPU").
# One GPU: under DDP the step runs eagerly.
_base_ = './ms_aimclr_ntu60_xsub.py'
model = dict(cuda_graph=True, data_preprocessor=dict(non_blocking=True))
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
train_dataloader = dict(pin_memory=True)
env_cfg = dict(cudnn_benchmark=True)
