# ms_aimclr_bandai.py in the paper's form: the key's convention drawn at
# random (the query's own half of the time), every view its own draws,
# nearest-neighbour mining from 3/4 of training, no warm-up, no output BN;
# the CPU recipe and 320 steps as the base. Evaluate with
# linear/linear_ms_aimclr_bandai_paper_pairs.py. The base of the AimCLR
# and per-convention BN configs of Bandai.
_base_ = './ms_aimclr_bandai.py'
model = dict(backbone=dict(out_norm=False), mining_epoch=24)
param_scheduler = [dict(type='MultiStepLR', milestones=[28], gamma=0.1)]
train_dataloader = dict(
    dataset=dict(pairing='random', pipeline={{_base_.pretrain_pipeline}}))
