#!/usr/bin/env bash
# README command 1: set up .venv (reused when present), then the main job:
# MS-AimCLR vs AimCLR on the embedded SYNTHETIC default data, pretraining,
# linear probe, skeleton-specific ensemble, transfer and kNN (tools/demo.py).
# Extra arguments go to tools/demo.py (e.g. --seeds 0 1 2 3 4, --jobs 1).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup_env.sh"
cd "$root"
. "$(bash tools/setup_env.sh --print-venv)/bin/activate"
export MPLBACKEND=Agg
python tools/demo.py "$@"
