#!/usr/bin/env bash
# Create (or reuse) the virtual environment .venv at the repository root with
# the pinned stack and msclr_plugin installed in editable mode.
#
#   bash tools/setup_env.sh            # CPU: installs torch==2.13.0 (CPU wheel)
#   GPU users: create .venv, install your CUDA build of torch into it first;
#   this script then keeps it (it only installs torch when none imports).
#
# Re-running is cheap: a stamp of the inputs skips the installs when nothing
# changed. PYTHON selects the interpreter (default: python3.11, else python3).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
py=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $py"
  "$py" -m venv .venv
fi
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
want=$(cat tools/constraints.txt pyproject.toml tools/setup_env.sh | sha256sum | cut -d' ' -f1)
stamp=.venv/.msclr_setup_stamp
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && python -c "import msclr_plugin" 2>/dev/null; then
  echo "[setup] .venv is up to date"
  exit 0
fi
if ! python -c "import torch" 2>/dev/null; then
  echo "[setup] installing torch==2.13.0 (CPU)"
  pip install -q "torch==2.13.0"
fi
echo "[setup] installing the OpenMMLab stack"
pip install -q -r tools/constraints.txt
pip install -q --no-deps "mmpose==1.3.2"
pip install -q pytest pytest-timeout
# optional video extra: the only MediaPipe release whose wheel ships its
# models (runs offline); tests that need it skip, saying so, if it is absent
pip install -q "mediapipe==0.10.21" "protobuf<5" ||
  echo "[setup] WARNING: mediapipe==0.10.21 did not install; MediaPipe tests will skip"
pip install -q --no-deps -e .
python -c "import msclr_plugin, torch, mmaction; print('[setup] msclr_plugin', msclr_plugin.__version__, '| torch', torch.__version__, '| mmaction2', mmaction.__version__)"
echo "$want" > "$stamp"
