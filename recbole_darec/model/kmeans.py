r"""Batched Lloyd k-means on the tensor's own device.

Why not kmeans-pytorch 0.3 (the dependency the design named): it prints on every call, iterates
until a tolerance with no cap, turns an empty cluster's centre into NaN and moves data to the
host each iteration. ``run_scripts/bench_kmeans.py`` measures the three candidates; the numbers
and the decision are in ``docs/benchmarks.md#k-means``.
"""

import torch


def _squared_distances(rows, centres):
    return (
        rows.pow(2).sum(1, keepdim=True)
        - 2 * rows @ centres.T
        + centres.pow(2).sum(1).unsqueeze(0)
    ).clamp_min_(0)


def _nearest(rows, centres):
    # ||x||^2 is the same for every centre, so the argmin needs only -2 x.c + ||c||^2.
    return torch.argmin(centres.pow(2).sum(1).unsqueeze(0) - 2 * rows @ centres.T, dim=1)


def _kmeans_plus_plus(rows, k):
    n = rows.shape[0]
    first = torch.randint(n, (1,), device=rows.device)
    centres = [rows[first].squeeze(0)]
    closest = _squared_distances(rows, centres[0].unsqueeze(0)).squeeze(1)
    for _ in range(1, k):
        # All-zero distances (duplicate rows) would make multinomial fail; fall back to uniform.
        weights = closest + (closest.sum() <= 0).float()
        pick = torch.multinomial(weights, 1)
        centres.append(rows[pick].squeeze(0))
        closest = torch.minimum(closest, _squared_distances(rows, rows[pick]).squeeze(1))
    return torch.stack(centres)


@torch.no_grad()
def kmeans(rows, k, n_iters=10):
    r"""Cluster ``rows`` (N x d) into ``k`` groups with k-means++ seeding and ``n_iters`` Lloyd steps.

    A fixed number of steps keeps the cost bounded and avoids a device-to-host sync per step.
    An empty cluster keeps its previous centre. Returns ``(assignments [N], centres [k x d])``.
    """
    n = rows.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k-means needs 1 <= k <= number of rows, got k={k} for {n} rows")
    rows = rows.float()
    centres = _kmeans_plus_plus(rows, k)
    assignments = _nearest(rows, centres)
    for _ in range(n_iters):
        centres = cluster_means(rows, assignments, centres)
        assignments = _nearest(rows, centres)
    return assignments, centres


def cluster_means(rows, assignments, fallback):
    r"""Mean of the rows assigned to each cluster (differentiable in ``rows``); an empty cluster
    takes its row of ``fallback`` instead of 0/0."""
    k = fallback.shape[0]
    # Not torch.bincount: on CUDA it reads the largest label back to the host to size its output.
    counts = torch.zeros(k, dtype=rows.dtype, device=rows.device).index_add_(
        0, assignments, torch.ones_like(assignments, dtype=rows.dtype)).unsqueeze(1)
    sums = torch.zeros(k, rows.shape[1], dtype=rows.dtype, device=rows.device)
    sums = sums.index_add(0, assignments, rows)
    return torch.where(counts > 0, sums / counts.clamp_min(1), fallback.to(rows.dtype))
