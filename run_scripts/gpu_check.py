r"""The GPU check of issue 58: DaRec's terms on CUDA without a host synchronisation, and the
uniformity term's memory at sizes where torch.pdist's backward needed gigabytes.

    python run_scripts/gpu_check.py [--rows 1024 4096] [--dim 64 256]

One forward + backward of ``DaRecObjective`` (the package defaults: every term on, greedy
matching) on random rows, under ``torch.cuda.set_sync_debug_mode("error")``: any host sync
raises. Then the peak CUDA memory of ``uniformity_loss``'s forward + backward per size. Prints a
table; exit status 1 if a sync was found. Without CUDA it says so and exits 0.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's package

import torch  # noqa: E402


def objective_config():
    import yaml

    from recbole_darec.registry import OUR_MODEL_PROPERTIES

    with open(os.path.join(OUR_MODEL_PROPERTIES, "DaRecRecommender.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--dim", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 0
    from recbole_darec.model.darec_objective import DaRecObjective, uniformity_loss

    device = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    status = 0
    config = objective_config()
    objective = DaRecObjective(config, cf_dim=64, llm_dim=384).to(device)
    cf, llm = torch.randn(4096, 64, device=device), torch.randn(4096, 384, device=device)
    objective(cf, llm)  # warm-up: kernels load, allocator settles
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        terms = objective(cf, llm)
        sum(terms.values()).backward()
        print("DaRec step (4,096 rows, every term): no host sync")
    except RuntimeError as error:
        print(f"DaRec step: host sync found: {error}")
        status = 1
    finally:
        torch.cuda.set_sync_debug_mode("default")
    print("\n| rows | dim | uniformity forward + backward, peak CUDA MiB |\n|---|---|---|")
    for n in args.rows:
        for d in args.dim:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            rows = torch.randn(n, d, device=device, requires_grad=True)
            base = torch.cuda.memory_allocated(device)
            uniformity_loss(rows).backward()
            torch.cuda.synchronize()
            print(f"| {n} | {d} | {(torch.cuda.max_memory_allocated(device) - base) / 2**20:.1f} |")
    return status


if __name__ == "__main__":
    sys.exit(main())
