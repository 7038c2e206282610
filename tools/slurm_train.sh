#!/usr/bin/env bash
# Training on a slurm cluster, one task per GPU (mmaction2's interface).
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#        bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py options]
# GPUS tasks in all, GPUS_PER_NODE per node (0: CPU tasks); see
# tools/slurm_launch.sh and docs/distributed.md.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [train.py options]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" train.py "${@:3}"
