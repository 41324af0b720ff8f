#!/usr/bin/env bash
# Set up prunesweep in .venv: Python >= 3.11, the package (editable), TensorFlow and the dev tools,
# at the versions in constraints.txt (the ones the tests run with). Safe to run again.
#   bash setup.sh            CPU build of TensorFlow (laptops, CI)
#   PRUNESWEEP_TF=gpu bash setup.sh   TensorFlow with the CUDA libraries from PyPI (Linux + NVIDIA)
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-python3}
"$python" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"prunesweep needs Python >= 3.11; {sys.executable} is {sys.version.split()[0]}")
PY
[ -x .venv/bin/python ] || "$python" -m venv .venv
extra=${PRUNESWEEP_TF:-cpu}
constraints=(-c constraints.txt)
[ "$extra" = gpu ] && constraints=()  # the CUDA wheels have their own pins
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "${constraints[@]}" -e ".[$extra,dev]"
echo "prunesweep is set up in .venv ($(.venv/bin/python -c 'import tensorflow as tf; print("TensorFlow", tf.__version__)' 2>/dev/null))"
