# The main job's MS-AimCLR with its forward in bfloat16 autocast (no loss
# scaling; msclr_plugin.engine.AutocastOptimWrapper): issue 26's CPU speed
# option, checked for learning against the float32 run (docs/results.md).
_base_ = ['./ms_aimclr_synthetic_aligned_cross.py']
optim_wrapper = dict(type='AutocastOptimWrapper')
