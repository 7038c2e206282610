# Linear probe of ../ms_aimclr_msr3d_xsub.py after a per-convention precise BN
# (tools/probe_eval.py; msclr_plugin.evaluation.precise_bn).
_base_ = './linear_ms_aimclr_msr3d_xsub.py'
precise_bn_per_convention = True
