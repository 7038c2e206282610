# Linear probe of the paper-form ms_aimclr_synthetic.py after a per-convention
# precise BN: every BN's statistics re-estimated per convention on the
# training clips with the frozen encoder (tools/probe_eval.py;
# msclr_plugin.evaluation.precise_bn). Works on a _cbn encoder too.
_base_ = './linear_ms_aimclr_synthetic.py'
precise_bn_per_convention = True
