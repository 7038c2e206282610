# The main job's MS-AimCLR (aligned cross-convention positives) with a
# convention-confusion term on the pooled backbone features
# (confusion_weight; MSMoCo's docstring): issue 21's ablation. The
# convention classifier learns at a tenth of the encoder's rate, so the
# encoder's target moves slower than the encoder (an adversarial pair
# at one rate diverged here: docs/results.md).
_base_ = ['./ms_aimclr_synthetic_aligned_cross.py']
model = dict(confusion_weight=0.1)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'convention_classifier': dict(lr_mult=0.1)}))
