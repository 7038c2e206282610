# MS-AimCLR on the main job's data with every positive from the OTHER
# convention (pairing='cross'; the main job's 'random' pairs a view with its
# own convention half of the time): issue 21's ablation.
_base_ = ['./ms_aimclr_synthetic.py']
train_dataloader = dict(dataset=dict(pairing='cross'))
