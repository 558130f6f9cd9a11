#!/usr/bin/env bash
# The GPU check of issue 58, for a machine with CUDA: run from the repository root after `make install`
# and `.venv/bin/pip install ".[bench]"` (bench_kmeans compares with kmeans-pytorch and fast-pytorch-kmeans).
# Every model an epoch on cuda and reloaded (tests/test_gpu.py), a DaRec step under sync debug mode
# 'error' and uniformity's peak memory (gpu_check.py), k-means on cuda (bench_kmeans.py). Each part
# prints its own table; the exit status is the first failure's.
set -u
cd "$(dirname "$0")/.."
status=0
step() { "$@"; local rc=$?; if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi; }
step .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_gpu.py
step .venv/bin/python run_scripts/gpu_check.py
step .venv/bin/python run_scripts/bench_kmeans.py --device cuda
exit "$status"
