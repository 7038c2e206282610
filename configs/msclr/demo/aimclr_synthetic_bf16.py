# The main job's AimCLR with its forward in bfloat16 autocast: the
# single-convention side of issue 26's bf16 learning check.
_base_ = ['./aimclr_synthetic.py']
optim_wrapper = dict(type='AutocastOptimWrapper')
