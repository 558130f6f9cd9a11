r"""Helpers shared by ``bench_kmeans.py`` and ``bench_overhead.py``: timing, statistics, machine
description and markdown tables. No dependency beyond torch and the standard library."""

import os
import platform
import statistics
import sys
import time

import torch

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if REPO_ROOT not in sys.path:
    # Run from anywhere: the repository's own recbole_darec wins over an installed copy.
    sys.path.insert(0, REPO_ROOT)

from recbole_darec.experiments.stats import fmt_mean_std, mean_std  # noqa: E402,F401  (the benchmarks' too)


def resolve_device(name):
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return torch.device(name)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_round_robin(fns, device, repeats, warmup):
    r"""Wall time (seconds) of each function of ``fns`` over ``repeats`` calls after ``warmup``
    untimed calls, interleaved: repeat ``i`` calls every function once, in turn. On a machine whose speed drifts (shared hosts do), every
    function then sees the same drift, so their ratios stay fair. Returns ``{name: [seconds]}``.
    """
    for i in range(warmup):
        for fn in fns.values():
            fn(-1 - i)
    synchronize(device)
    times = {name: [] for name in fns}
    for i in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            start = time.perf_counter()
            fn(i)
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


# Each function gets the repeat index (warm-up calls get negative ones) so it can seed itself.
_PROBE = None


def machine_speed_probe(repeats=20):
    r"""Milliseconds of one 512 x 512 float32 matmul (median of ``repeats``): a fixed reference
    workload, timed next to the real measurements to show how fast the machine was right then."""
    global _PROBE
    if _PROBE is None:
        _PROBE = torch.randn(512, 512, generator=torch.Generator().manual_seed(0))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _PROBE @ _PROBE
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def quantile(values, q):
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    position = q * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def median_iqr(values):
    r"""``(median, 25th percentile, 75th percentile)``."""
    return statistics.median(values), quantile(values, 0.25), quantile(values, 0.75)


def fmt_ms(seconds, digits=1):
    return f"{seconds * 1e3:.{digits}f}"


def fmt_median_iqr_ms(values, digits=1):
    median, q1, q3 = median_iqr(values)
    return f"{fmt_ms(median, digits)} [{fmt_ms(q1, digits)}, {fmt_ms(q3, digits)}]"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_description(device):
    parts = [
        f"python {platform.python_version()}",
        f"torch {torch.__version__}",
        f"torch threads {torch.get_num_threads()}",
        f"os.cpu_count() {os.cpu_count()}",
        f"cpu: {cpu_model()}",
    ]
    if device.type == "cuda":
        parts.append(f"gpu: {torch.cuda.get_device_name(device)}")
    return ", ".join(parts)


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
