r"""Benchmark of the three k-means candidates for DaRec's local alignment (L_loc).

Compares, on the same data and seeds,
  (a) kmeans-pytorch 0.3      ``from kmeans_pytorch import kmeans`` (random init, tol 1e-4, no cap)
  (b) fast-pytorch-kmeans     ``fast_pytorch_kmeans.KMeans`` (max_iter 100, tol 1e-4), with its
                              default 'random' init and with its 'kmeans++' init
  (c) ours                    ``recbole_darec.model.kmeans.kmeans(rows, k, n_iters)`` (k-means++
                              seeding, a fixed number of Lloyd steps, no host sync)
for wall time (median and inter-quartile range over repeats, after warm-up; the repeats are
interleaved round-robin over the implementations so that a drift in machine speed hits all of them
alike, and a fixed matmul is timed alongside to show that drift), the number of Lloyd
iterations actually run, clustering quality (inertia = sum of squared distances of every row to
its nearest returned centre, computed in float64) and NaN centres. A second table constructs empty
clusters on purpose (K larger than the number of distinct rows).

kmeans-pytorch prints a line and draws a tqdm bar on every call; both are redirected to a
throw-away buffer here (the redirection is inside the timed region for every implementation).
It also has no iteration cap, so its iterations are counted through a wrapper of its
``pairwise_distance`` that stops the call after ``--guard`` iterations.

Usage (from the repository root):
    .venv/bin/python run_scripts/bench_kmeans.py                 # CPU, d = 64 and 384
    .venv/bin/python run_scripts/bench_kmeans.py --device cuda   # same on a GPU
"""

import argparse
import contextlib
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _bench_common import (  # noqa: E402
    fmt_median_iqr_ms,
    machine_description,
    machine_speed_probe,
    markdown_table,
    resolve_device,
    time_round_robin,
)


class GuardHit(RuntimeError):
    """kmeans-pytorch ran past the iteration guard (it has no cap of its own)."""

    def __init__(self, message, nan_seen):
        super().__init__(message)
        self.nan_seen = nan_seen


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
def gaussian_mixture(n, d, components, seed, spread=1.0, noise=1.0):
    r"""``components`` Gaussian blobs: centres ~ N(0, spread^2 I), rows = centre + N(0, noise^2 I),
    mixture weights drawn from a Dirichlet(2) so the clusters are of unequal size."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(components, d)) * spread
    weights = rng.dirichlet(np.full(components, 2.0))
    labels = rng.choice(components, size=n, p=weights)
    rows = centres[labels] + noise * rng.normal(size=(n, d))
    return torch.from_numpy(rows.astype(np.float32))


def isotropic_noise(n, d, seed):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def duplicated_points(n, d, distinct, seed):
    r"""``n`` rows that are copies of only ``distinct`` points: with K > distinct, some clusters
    must be empty."""
    gen = torch.Generator().manual_seed(seed)
    points = torch.randn(distinct, d, generator=gen) * 5
    return points[torch.randint(distinct, (n,), generator=gen)]


# ----------------------------------------------------------------------------------------------
# the candidates: each returns (centres, iterations or None); iterations None = not observable
# ----------------------------------------------------------------------------------------------
def seed_everything(seed):
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def run_kmeans_pytorch(rows, k, device, guard):
    import kmeans_pytorch

    original = kmeans_pytorch.pairwise_distance
    calls, nan_seen = [0], [False]

    def counting(data1, data2, *args, **kwargs):
        # kmeans() looks the function up in its module at call time, once per iteration;
        # data2 is its current centres.
        calls[0] += 1
        nan_seen[0] = nan_seen[0] or bool(torch.isnan(data2).any())
        if calls[0] > guard:
            raise GuardHit(f"no convergence after {guard} iterations", nan_seen[0])
        return original(data1, data2, *args, **kwargs)

    kmeans_pytorch.pairwise_distance = counting
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            _, centres = kmeans_pytorch.kmeans(rows, num_clusters=k, distance="euclidean",
                                               tol=1e-4, device=device)
    finally:
        kmeans_pytorch.pairwise_distance = original
    return centres, calls[0]


def run_fast_kmeans(rows, k, device, guard, init_method):
    from fast_pytorch_kmeans import KMeans

    model = KMeans(n_clusters=k, max_iter=100, tol=1e-4, verbose=0, mode="euclidean",
                   init_method=init_method)
    calls = [0]
    max_sim = model.max_sim

    def counting(*args, **kwargs):  # one call per Lloyd iteration
        calls[0] += 1
        return max_sim(*args, **kwargs)

    model.max_sim = counting
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model.fit_predict(rows)
    return model.centroids, calls[0]


def run_ours(rows, k, device, guard, n_iters):
    from recbole_darec.model.kmeans import kmeans

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        _, centres = kmeans(rows, k, n_iters=n_iters)
    return centres, n_iters


def candidates(our_iters):
    return [
        ("kmeans-pytorch 0.3 (random init, tol 1e-4, no cap)", run_kmeans_pytorch),
        ("fast-pytorch-kmeans 0.2.2 (random init, max_iter 100, tol 1e-4)",
         lambda r, k, dev, g: run_fast_kmeans(r, k, dev, g, "random")),
        ("fast-pytorch-kmeans 0.2.2 (kmeans++ init, max_iter 100, tol 1e-4)",
         lambda r, k, dev, g: run_fast_kmeans(r, k, dev, g, "kmeans++")),
        (f"ours (k-means++ init, n_iters={our_iters})",
         lambda r, k, dev, g: run_ours(r, k, dev, g, our_iters)),
    ]


# ----------------------------------------------------------------------------------------------
# measurements
# ----------------------------------------------------------------------------------------------
def inertia(rows, centres):
    r"""Sum over rows of the squared distance to the nearest finite returned centre (float64)."""
    rows = rows.double()
    centres = centres.to(rows.device).double()
    finite = torch.isfinite(centres).all(dim=1)
    if not finite.any():
        return float("nan")
    distances = torch.cdist(rows, centres[finite]).pow(2)
    return distances.min(dim=1).values.sum().item()


def measure_all(impls, rows, k, device, repeats, warmup, seed, guard):
    r"""Times every implementation ``repeats`` times, interleaved (repeat ``i`` runs each once, in
    turn, with seed ``seed + i``) and records, per call, the iterations, the inertia and whether
    a centre is NaN or the all-zero vector."""
    records = {name: [] for name, _ in impls}

    def make_call(name, fn):
        def call(i):
            seed_everything(seed + i)
            try:
                centres, iterations = fn(rows, k, device, guard)
            except GuardHit as hit:
                centres, iterations = None, ("guard", hit.nan_seen)
            except Exception as error:  # a candidate that crashes is a result, not a script error
                centres, iterations = None, f"{type(error).__name__}: {str(error)[:60]}"
            if i >= 0:
                records[name].append((centres, iterations))
        return call

    times = time_round_robin({name: make_call(name, fn) for name, fn in impls}, device, repeats,
                             warmup)
    return [summarise(name, times[name], records[name], rows) for name, _ in impls]


def summarise(name, times, records, rows):
    iters, inertias, nan_runs, zero_runs, guard_runs, errors = [], [], 0, 0, 0, []
    for centres, iterations in records:
        if centres is None:
            if isinstance(iterations, tuple):
                guard_runs += 1
                nan_runs += int(iterations[1])
            else:
                errors.append(iterations)
            continue
        iters.append(iterations)
        inertias.append(inertia(rows, centres))
        nan_runs += int(not torch.isfinite(centres).all())
        zero_runs += int((centres.abs().sum(dim=1) == 0).any())
    return {
        "name": name,
        "times": times,
        "iterations": iters,
        "inertias": inertias,
        "nan_runs": nan_runs,
        "zero_runs": zero_runs,
        "guard_runs": guard_runs,
        "errors": errors,
        "runs": len(records),
    }


def ours_fixed_point_fraction(rows, k, n_iters, seeds, seed):
    r"""How often ``n_iters`` Lloyd steps already reach the fixed point: same seed (so the same
    k-means++ seeding) with 100 steps gives the same centres."""
    from recbole_darec.model.kmeans import kmeans

    same, ratios = 0, []
    for i in range(seeds):
        seed_everything(seed + i)
        assign_short, centres_short = kmeans(rows, k, n_iters=n_iters)
        seed_everything(seed + i)
        assign_long, centres_long = kmeans(rows, k, n_iters=100)
        same += int(torch.equal(assign_short, assign_long))
        ratios.append(inertia(rows, centres_short) / inertia(rows, centres_long))
    return same, seeds, ratios


def per_iteration_ms(result):
    pairs = [t / n for t, n in zip(result["times"], result["iterations"]) if isinstance(n, int)]
    if not pairs or len(result["iterations"]) != result["runs"]:
        return "n/a"
    return f"{np.median(pairs) * 1e3:.2f}"


def describe_iterations(iters, guard_runs, guard, errors=()):
    parts = []
    if iters:
        parts.append(f"{int(np.median(iters))} [{min(iters)}–{max(iters)}]")
    if guard_runs:
        parts.append(f"{guard_runs} run(s) did not stop within {guard}")
    if errors:
        parts.append(f"{len(errors)} run(s) crashed ({errors[0]})")
    return "; ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--n", type=int, default=4096, help="rows (N_hat)")
    parser.add_argument("--k", type=int, default=8, help="clusters (darec_n_clusters)")
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 384])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="data seed; call i uses seed + i")
    parser.add_argument("--our-iters", type=int, default=10, help="ours: darec_kmeans_iters")
    parser.add_argument("--guard", type=int, default=1000,
                        help="stop kmeans-pytorch after this many iterations (it has no cap)")
    parser.add_argument("--empty-distinct", type=int, default=4,
                        help="empty-cluster case: distinct points (< k)")
    parser.add_argument("--empty-repeats", type=int, default=5)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)

    print(f"# k-means benchmark: N={args.n}, K={args.k}, d in {args.dims}, device {device}")
    print(f"machine: {machine_description(device)}")
    print(f"repeats {args.repeats} after {args.warmup} warm-up calls; call i seeds torch and "
          f"numpy with {args.seed} + i; data seed {args.seed}\n")

    header = ["data", "d", "implementation", "wall ms, median [IQR]", "iterations, median [min–max]",
              "ms per iteration (median)",
              "inertia, median ÷ best", "inertia, worst ÷ best", "runs with NaN centre",
              "runs with an all-zero centre"]
    rows_out, fixed_points, probes = [], [], [machine_speed_probe()]
    for d in args.dims:
        datasets = [
            (f"Gaussian mixture ({args.k} comp.)",
             gaussian_mixture(args.n, d, args.k, args.seed)),
            ("isotropic noise N(0, I)", isotropic_noise(args.n, d, args.seed)),
        ]
        for data_name, data in datasets:
            data = data.to(device)
            results = measure_all(candidates(args.our_iters), data, args.k, device, args.repeats,
                                  args.warmup, args.seed, args.guard)
            best = min(min(r["inertias"]) for r in results if r["inertias"])
            for r in results:
                finite = [x for x in r["inertias"] if np.isfinite(x)]
                rows_out.append([
                    data_name, d, r["name"], fmt_median_iqr_ms(r["times"]),
                    describe_iterations(r["iterations"], r["guard_runs"], args.guard, r["errors"]),
                    per_iteration_ms(r),
                    f"{np.median(finite) / best:.4f}" if finite else "n/a",
                    f"{max(finite) / best:.4f}" if finite else "n/a",
                    f"{r['nan_runs']}/{r['runs']}", f"{r['zero_runs']}/{r['runs']}",
                ])
            same, total, ratios = ours_fixed_point_fraction(data, args.k, args.our_iters,
                                                            args.repeats, args.seed)
            fixed_points.append([data_name, d, f"{same}/{total}",
                                 f"{np.median(ratios):.4f} [{max(ratios):.4f}]"])
            probes.append(machine_speed_probe())
            print(f"done: {data_name}, d={d}", file=sys.stderr)

    print("## Wall time and quality\n")
    print(markdown_table(header, rows_out))
    print("\nbest = the lowest inertia any implementation reached on that data over all its runs. "
          "ms per iteration = median over runs of wall time ÷ iterations (ours: the k-means++ "
          "seeding is spread over its fixed iterations).")
    print(f"\nMachine-speed probe (one 512 x 512 float32 matmul, median of 20, ms) before/after "
          f"each block: {', '.join(f'{p:.2f}' for p in probes)}")
    print("\n## Does ours reach the Lloyd fixed point within n_iters?\n")
    print(markdown_table(
        ["data", "d", f"seeds where {args.our_iters} steps give the same assignment as 100 steps",
         f"inertia after {args.our_iters} steps ÷ after 100 steps (same seeding), median [max]"],
        fixed_points,
    ))

    # Empty clusters on purpose: N rows that copy only `empty_distinct` points, K > that.
    d = args.dims[0]
    data = duplicated_points(args.n, d, args.empty_distinct, args.seed).to(device)
    empty_rows = []
    for r in measure_all(candidates(args.our_iters), data, args.k, device, args.empty_repeats, 0,
                         args.seed, args.guard):
        name = r["name"]
        stopped = r["runs"] - r["guard_runs"] - len(r["errors"])
        empty_rows.append([
            name, f"{stopped}/{r['runs']}",
            describe_iterations(r["iterations"], r["guard_runs"], args.guard, r["errors"]),
            f"{r['nan_runs']}/{r['runs']}", f"{r['zero_runs']}/{r['runs']}",
        ])
    print(f"\n## Empty clusters: N={args.n} rows copying {args.empty_distinct} distinct points, "
          f"K={args.k}, d={d}\n")
    print(markdown_table(
        ["implementation", "runs that returned", "iterations, median [min–max] / failures",
         "runs with NaN centre", "runs with an all-zero centre"],
        empty_rows,
    ))


if __name__ == "__main__":
    main()
