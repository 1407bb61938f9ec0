#!/usr/bin/env bash
# GPU check: the CUDA tests on the real device and the CUDA benchmark rows, in under 5 minutes.
#
#   bash benchmarks/gpu_check.sh            # -> benchmarks/results/augment_cuda.json (commit it)
#
# Which Python: $PYTHON if set; else the first of .venv/bin/python, .venv-gpu/bin/python and python3
# whose torch sees a CUDA device (on a machine image with CUDA torch preinstalled, as this project's
# lent GPU machines are, that is their python3, with no install and no network). skelaug itself is
# taken from this checkout (PYTHONPATH), so nothing is installed into that Python.
#
# Without such a Python, and only with SKELAUG_GPU_INSTALL=1 (it downloads several GB), it builds
# .venv-gpu the way the Makefile builds .venv, torch first, but with torch unpinned: the Makefile pins
# torch==2.13.0 because on the CPU machines that pin resolves to the local CPU build; on a CUDA machine
# the default Linux x86-64 wheel from PyPI is the CUDA build, which is the one needed here. numba's CUDA
# target comes from the `cuda` extra (numba-cuda).
#
# Exit status: 0 when the tests passed and the JSON was written; 2 when there is no usable GPU (the
# message says what is missing); otherwise the failing step's status. The simulator (NUMBA_ENABLE_CUDASIM)
# is switched off here: the CPU test suite already runs the kernels on it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PYTHONUNBUFFERED=1
unset NUMBA_ENABLE_CUDASIM

has_cuda() {   # python -> 0 when its torch imports and sees a CUDA device
    "$1" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1
}

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    for cand in .venv/bin/python .venv-gpu/bin/python python3; do
        if command -v "$cand" >/dev/null 2>&1 && has_cuda "$cand"; then PY=$cand; break; fi
    done
fi
if [ -z "$PY" ] && [ "${SKELAUG_GPU_INSTALL:-0}" = 1 ]; then
    echo "gpu_check: no Python with CUDA torch found; building .venv-gpu (torch from PyPI's default CUDA wheel)"
    test -x .venv-gpu/bin/python || python3 -m venv .venv-gpu
    .venv-gpu/bin/python -m pip install -q --upgrade pip
    .venv-gpu/bin/python -m pip install -q torch
    .venv-gpu/bin/python -m pip install -q -e ".[test,cuda]"
    PY=.venv-gpu/bin/python
fi
if [ -z "$PY" ] || ! has_cuda "$PY"; then
    echo "gpu_check: no CUDA GPU usable from Python here: no Python among \$PYTHON, .venv, .venv-gpu and" \
         "python3 has a torch that sees a CUDA device (torch.cuda.is_available() is False or torch is" \
         "missing). On a CUDA machine, set PYTHON=/path/to/python with CUDA torch, or rerun with" \
         "SKELAUG_GPU_INSTALL=1 to build .venv-gpu." >&2
    exit 2
fi
echo "gpu_check: using $PY"
"$PY" - <<'EOF' || exit 2
import sys
import torch
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {torch.cuda.get_device_name(0)}")
try:
    from numba import cuda
    ok = cuda.is_available()
except Exception as err:                 # numba >= 0.61 without numba-cuda
    ok, why = False, f"{type(err).__name__}: {err}"
else:
    why = "numba.cuda.is_available() is False"
if not ok:
    sys.exit(f"gpu_check: torch sees the GPU but numba's CUDA target does not ({why}); "
             "install numba-cuda (pip install 'numba-cuda[cu12]' or '[cu13]', matching the driver)")
EOF

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# 1. The CUDA tests on the device (the simulator test is the CPU suite's; it is deselected here).
timeout 240 "$PY" -m pytest -q -p no:cacheprovider tests/augment/test_fast_numba_cuda.py -k "not simulator"
# 2. The CUDA benchmark rows -> benchmarks/results/augment_cuda.json.
timeout 240 "$PY" -m benchmarks.bench_augment --device cuda --repeats "${REPEATS:-20}" --warmup 3 \
    --out "${CUDA_JSON:-benchmarks/results/augment_cuda.json}"
