# The main job's MS-AimCLR with the symmetrised loss (MSMoCo symmetric=True):
# each pair is contrasted both ways, the key view also acting as a query
# against the query view as its key (issue 21's ablation). Evaluate with
# linear_ms_aimclr_synthetic_precise_bn.py, as the main job.
_base_ = './ms_aimclr_synthetic.py'
model = dict(symmetric=True)
