# linear_ms_aimclr_synthetic_precise_bn.py, then each convention's mean
# feature over the training clips subtracted from its features before every
# test but the linear convention probe (tools/probe_eval.py
# --centre-conventions): a per-convention offset of the output removed as
# the precise BN removes those inside (issue 21).
_base_ = './linear_ms_aimclr_synthetic_precise_bn.py'
centre_per_convention = True
