#!/usr/bin/env bash
# Set up the venv (reusing it when present) and run the test suite:
# .venv for the default Python, .venv-pyX.Y for PYTHON=pythonX.Y
# (tools/setup_env.sh). Extra arguments go to pytest, e.g.
# `bash tools/run_tests.sh -k layouts`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup_env.sh"
cd "$root"
. "$(bash tools/setup_env.sh --print-venv)/bin/activate"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} MPLBACKEND=Agg
python -m pytest -q --timeout=900 "$@"
