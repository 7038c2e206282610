# ms_aimclr_bandai.py with the paper's positives: the key's convention drawn
# at random (the query's own half of the time), every view its own draws.
_base_ = './ms_aimclr_bandai.py'
train_dataloader = dict(
    dataset=dict(pairing='random', pipeline={{_base_.pretrain_pipeline}}))
