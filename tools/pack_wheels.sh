#!/usr/bin/env bash
# Download the project's pure-Python dependencies as wheels into .whl/
# (git-ignored), for a GPU machine without network whose Python already has
# torch, numpy, scipy, matplotlib, opencv, rich and pytest (as the lent H200
# machine's does): mmengine, mmcv-lite, mmaction2 at the versions of
# tools/constraints.txt, what they import that such an image lacks, and
# setuptools<81 (mmengine's configs import pkg_resources). About 3.5 MB.
#
#   bash tools/pack_wheels.sh                   # for Python 3.12
#   PY_VERSION=3.11 bash tools/pack_wheels.sh   # another target Python
#
# There, in the repository root (docs/install.md has the one-call line):
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
#   PYTHONPATH=/tmp/site:$PWD python3 tools/gpu_check.py --out DIR
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
mapfile -t pinned < <(grep -E '^(setuptools|mmengine|mmcv-lite|mmaction2)\b' tools/constraints.txt)
rm -rf .whl
"$py" -m pip download -q --no-deps --only-binary=:all: \
  --python-version "${PY_VERSION:-3.12}" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl \
  "${pinned[@]}" addict==2.4.0 yapf==0.43.0 "platformdirs>=3.5.1" termcolor \
  "importlib-metadata<9"
ls .whl
du -sh .whl
