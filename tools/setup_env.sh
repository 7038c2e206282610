#!/usr/bin/env bash
# Create (or reuse) a virtual environment with the pinned stack and
# msclr_plugin installed in editable mode (docs/install.md).
#
#   bash tools/setup_env.sh                      # default Python -> .venv
#   PYTHON=python3.12 bash tools/setup_env.sh    # another one -> .venv-py3.12
#   bash tools/setup_env.sh --print-venv         # only print the venv folder
#
# Environment:
#   PYTHON        interpreter (default: python3.11, else python3). A pyenv
#                 version that is installed but not active is found too.
#   MSCLR_VENV    venv folder (default: .venv for the default interpreter
#                 or the Python of an existing .venv, else .venv-pyX.Y, so
#                 another Python never replaces .venv).
#   MSCLR_TORCH   what to install when no torch imports in the venv
#                 (default torch==2.13.0: the CPU wheel on Python 3.11
#                 here; a CUDA build from PyPI elsewhere). GPU users put
#                 their own torch in the venv first: it is kept.
#   MSCLR_EXTRAS  optional parts: "mmpose" (dataset meta files) and "video"
#                 (MediaPipe 0.10.21, which needs numpy<2). Default: both
#                 for .venv, "mmpose" for other venvs (numpy 2). An extra
#                 that does not install is reported and its tests skip.
#                 Opt-in only, never a default (CI does not install it):
#                 "metrabs-tf", TensorFlow for MeTRAbs SavedModels
#                 (tools/data/video_to_skeletons.py --extractor metrabs;
#                 the model itself is your file).
#
# Re-running is cheap: a stamp of the inputs skips the installs when
# nothing changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The real executable of an interpreter name (through pyenv when its shim
# refuses an inactive version).
resolve_python() {
  local exe v
  if exe=$("$1" -c 'import sys; print(sys.executable)' 2>/dev/null); then
    echo "$exe"
    return
  fi
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv whence "$1" 2>/dev/null); do
      exe="$(pyenv root)/versions/$v/bin/$1"
      [ -x "$exe" ] && "$exe" -c '' 2>/dev/null && { echo "$exe"; return; }
    done
  fi
  return 1
}
py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

default_py=$(resolve_python python3.11 || resolve_python python3) || {
  echo "[setup] no python3 found" >&2
  exit 1
}
if [ -n "${PYTHON:-}" ]; then
  py=$(resolve_python "$PYTHON") || {
    echo "[setup] PYTHON=$PYTHON does not run (not installed?)" >&2
    exit 1
  }
else
  py=$default_py
fi
if [ -n "${MSCLR_VENV:-}" ]; then
  venv=$MSCLR_VENV
elif [ -z "${PYTHON:-}" ]; then
  venv=.venv
else
  base=$default_py
  [ -x .venv/bin/python ] && base=.venv/bin/python
  if [ "$(py_version "$py")" = "$(py_version "$base")" ]; then
    venv=.venv
  else
    venv=.venv-py$(py_version "$py")
  fi
fi
if [ "${1:-}" = "--print-venv" ]; then
  echo "$venv"
  exit 0
fi
extras=${MSCLR_EXTRAS-$([ "$venv" = .venv ] && echo "mmpose video" || echo mmpose)}
torch_req=${MSCLR_TORCH:-torch==2.13.0}

if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv with $py"
  "$py" -m venv "$venv"
fi
. "$venv/bin/activate"
export PIP_DISABLE_PIP_VERSION_CHECK=1
want=$( (cat tools/constraints.txt pyproject.toml tools/setup_env.sh
  echo "$extras|$torch_req") | sha256sum | cut -d' ' -f1)
stamp=$venv/.msclr_setup_stamp
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && python -c "import msclr_plugin" 2>/dev/null; then
  echo "[setup] $venv is up to date"
  exit 0
fi
if ! python -c "import torch" 2>/dev/null; then
  echo "[setup] installing $torch_req"
  pip install -q "$torch_req"
fi
echo "[setup] installing the OpenMMLab stack"
installed=core
case " $extras " in
*" video "*)
  # One resolve with MediaPipe, so that numpy is one that it accepts (<2);
  # where it has no wheel (e.g. Python 3.13), the core alone.
  if pip install -q -r tools/constraints.txt "mediapipe==0.10.21" "protobuf<5"; then
    installed="$installed video"
  else
    echo "[setup] WARNING: mediapipe==0.10.21 does not install with" \
      "$(python -V); MediaPipe tests will skip"
    pip install -q -r tools/constraints.txt
  fi
  ;;
*) pip install -q -r tools/constraints.txt ;;
esac
case " $extras " in
*" mmpose "*)
  # only its dataset meta files are read (never imported): no dependencies,
  # which would pull chumpy (does not build) and torchvision
  if pip install -q --no-deps "mmpose==1.3.2"; then
    installed="$installed mmpose"
  else
    echo "[setup] WARNING: mmpose==1.3.2 did not install; its tests will skip"
  fi
  ;;
esac
case " $extras " in
*" metrabs-tf "*)
  # large (about 600 MB); kept to the pinned stack by the constraints
  if pip install -q -c tools/constraints.txt "tensorflow>=2.13"; then
    installed="$installed metrabs-tf"
  else
    echo "[setup] WARNING: tensorflow did not install with $(python -V);" \
      "load MeTRAbs with --estimator-factory (e.g. the PyTorch port)"
  fi
  ;;
esac
pip install -q pytest pytest-timeout
pip install -q --no-deps -e .
python -c "import msclr_plugin, numpy, torch, mmaction; print('[setup] msclr_plugin', msclr_plugin.__version__, '| python', '%d.%d.%d' % __import__('sys').version_info[:3], '| torch', torch.__version__, '| numpy', numpy.__version__, '| mmaction2', mmaction.__version__)"
echo "[setup] $venv: installed $installed (asked: core $extras)"
echo "$want" > "$stamp"
