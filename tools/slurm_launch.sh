#!/usr/bin/env bash
# One task per GPU on a slurm cluster, running a tool of this repository:
# the common part of tools/slurm_train.sh and tools/slurm_test.sh.
# Usage: bash tools/slurm_launch.sh PARTITION JOB_NAME TOOL [tool arguments]
# Variables: GPUS (tasks in all, default 8), GPUS_PER_NODE (default 8; 0:
# CPU tasks, gloo), CPUS_PER_TASK (default 5), SRUN_ARGS (more srun
# options). Master address and port come from slurm (MASTER_PORT overrides
# the port, default 29500).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
TASKS_PER_NODE=$GPUS_PER_NODE
GRES=""
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    GRES="--gres=gpu:$GPUS_PER_NODE"
else
    TASKS_PER_NODE=$GPUS
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck disable=SC2086  # GRES and SRUN_ARGS: zero or more words
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" $GRES \
    --ntasks="$GPUS" --ntasks-per-node="$TASKS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
    python -u "$ROOT/tools/$TOOL" "${@:4}" --launcher slurm
