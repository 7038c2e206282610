#!/usr/bin/env bash
# Set up .venv (reusing it when present) and run the test suite.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -k layouts`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup_env.sh"
cd "$root"
. .venv/bin/activate
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} MPLBACKEND=Agg
python -m pytest -q --timeout=900 "$@"
