#!/usr/bin/env bash
# The GPU check of issue 58, for a machine with CUDA: run from the repository root after `make install`
# and `.venv/bin/pip install ".[bench]"` (bench_kmeans compares with kmeans-pytorch and fast-pytorch-kmeans).
# Every model an epoch on cuda and reloaded (tests/test_gpu.py), a DaRec step under sync debug mode
# 'error' and uniformity's peak memory (gpu_check.py), k-means on cuda (bench_kmeans.py), LightGCN
# against DaRecLightGCN per batch and the alignment step alone at N_hat 1024/4096/8192
# (bench_overhead.py), and with two GPUs one process against two with NCCL (bench_ddp.py; the NCCL
# test is in tests/test_gpu.py). Each part prints its own table; the exit status is the first failure's.
set -u
cd "$(dirname "$0")/.."
status=0
step() { "$@"; local rc=$?; if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi; }
step .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_gpu.py
step .venv/bin/python run_scripts/gpu_check.py
step .venv/bin/python run_scripts/bench_kmeans.py --device cuda
step .venv/bin/python run_scripts/bench_overhead.py --device cuda --variants LightGCN "DaRecLightGCN (defaults)" \
    --epochs 4 --seeds 2020 --memory-epochs 0 --n-hats 1024 4096 8192
if [ "$(.venv/bin/python -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ]; then
    step .venv/bin/python run_scripts/bench_ddp.py --device cuda --layouts 1x1 2x1
fi
exit "$status"
