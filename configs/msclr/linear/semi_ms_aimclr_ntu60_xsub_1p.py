# 1% of the training labels (class-balanced, seeded).
_base_ = './semi_ms_aimclr_ntu60_xsub_10p.py'
train_dataloader = dict(dataset=dict(label_fraction=0.01))
