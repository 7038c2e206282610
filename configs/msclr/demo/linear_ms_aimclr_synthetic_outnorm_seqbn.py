# linear_ms_aimclr_synthetic_outnorm_precise_bn.py with the sequential precise
# BN: one BN at a time, in forward order, in evaluation mode, every BN before
# it final (msclr_plugin.evaluation.precise_bn): each convention's output BN
# then centres and scales exactly the training features it is evaluated on.
_base_ = './linear_ms_aimclr_synthetic_outnorm.py'
precise_bn_per_convention = 'sequential'
