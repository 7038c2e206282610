# Linear probe of ../ms_aimclr_msr3d_xsub.py after the sequential per-convention
# precise BN (one BN at a time, in evaluation mode; tools/probe_eval.py,
# msclr_plugin.evaluation.precise_bn): what tools/real_results.py runs.
_base_ = './linear_ms_aimclr_msr3d_xsub.py'
precise_bn_per_convention = 'sequential'
