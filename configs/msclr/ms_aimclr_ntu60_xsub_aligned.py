# ms_aimclr_ntu60_xsub.py with aligned cross-convention positives (issue 21,
# docs/pretraining.md): every key in the other convention, replaying the
# query's augmentation draws. Not the paper's form; measured at CPU scale only
# (docs/results.md).
_base_ = './ms_aimclr_ntu60_xsub.py'
train_dataloader = dict(
    dataset=dict(pairing='cross', pipeline={{_base_.aligned_pretrain_pipeline}}))
