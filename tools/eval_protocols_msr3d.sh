#!/usr/bin/env bash
# Every evaluation protocol from the configs on real MSR Action3D (../shared/data), CPU-sized:
# 3 pretraining epochs, 3 probe epochs. Numbers are a smoke test (docs/results.md).
# Usage (after tools/setup_env.sh): bash tools/eval_protocols_msr3d.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. .venv/bin/activate
export MPLBACKEND=Agg
W=work_dirs/msr
L=configs/msclr/linear
mkdir -p $W data
if [ ! -f data/msr3d/index.json ]; then
  python tools/data/msr3d_to_store.py --out data/msr3d --derived coco \
    --data-dir ../shared/data/msr_action3d/real_world_coordinates > $W/convert.log 2>&1
fi
E="train_cfg.val_begin=3 train_cfg.val_interval=3 default_hooks.checkpoint.interval=3 train_cfg.max_epochs=3 param_scheduler.0.milestones=[2]"
t0=$(date +%s)
python tools/train.py configs/msclr/ms_aimclr_msr3d_xsub.py --work-dir $W/pre --cfg-options train_cfg.max_epochs=3 default_hooks.checkpoint.interval=3 model.mining_epoch=2 param_scheduler.0.milestones=[2] > $W/pre.log 2>&1
echo "pretrain done $(( $(date +%s) - t0 )) s"; grep "Epoch(train)" $W/pre.log | awk '{for(i=1;i<=NF;i++) if($i=="loss_nce:") printf "%s ", $(i+1)}'; echo
P=$W/pre/epoch_3.pth
python tools/train.py $L/linear_ms_aimclr_msr3d_xsub.py --work-dir $W/lin --cfg-options model.backbone.init_cfg.checkpoint=$P $E > $W/lin.log 2>&1
echo "linear: $(grep 'Epoch(val)' $W/lin.log | tail -1 | grep -o 'acc/top1: [0-9.]*')"
python tools/test.py $L/linear_ms_aimclr_msr3d_xsub.py $W/lin/epoch_3.pth --work-dir $W/t_joint --dump $W/joint.pkl > $W/t_joint.log 2>&1
python tools/test.py $L/linear_ms_aimclr_msr3d_xsub_ensemble.py $W/lin/epoch_3.pth --work-dir $W/t_ens --dump $W/ens.pkl > $W/t_ens.log 2>&1
echo "ensemble: $(grep -o 'acc/top1: [0-9.]*' $W/t_ens.log | tail -1)"
python tools/test.py $L/linear_ms_aimclr_msr3d_xsub_transfer.py $W/lin/epoch_3.pth --work-dir $W/t_tr > $W/t_tr.log 2>&1
echo "transfer msr->coco: $(grep -o 'acc/top1: [0-9.]*' $W/t_tr.log | tail -1)"
python tools/ensemble.py $W/joint.pkl $W/ens.pkl --weights 0.6 0.4 > $W/fuse.log 2>&1; echo "fusion: $(tail -3 $W/fuse.log | tr '\n' ' ')"
python tools/knn_eval.py $L/linear_ms_aimclr_msr3d_xsub.py $P > $W/knn.log 2>&1; echo "knn: $(tail -1 $W/knn.log)"
python tools/train.py $L/linear_ms_aimclr_msr3d_xsub.py --work-dir $W/semi --cfg-options model.backbone.init_cfg.checkpoint=$P model.backbone.frozen_stages=-1 train_dataloader.dataset.label_fraction=0.1 optim_wrapper.optimizer.lr=0.1 $E > $W/semi.log 2>&1
echo "semi 10%: $(grep 'Epoch(val)' $W/semi.log | tail -1 | grep -o 'acc/top1: [0-9.]*')"
echo "all protocols $(( $(date +%s) - t0 )) s"
