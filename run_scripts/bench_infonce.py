r"""Benchmark of SimGCL's InfoNCE against all rows (``cl_negatives: all``, RLMRec's loss).

Compares, forward and backward on the same views and batch rows,
  (a) one logits row per batch row, repeats included (RLMRec's ``cal_infonce_loss`` layout:
      ``cross_entropy(normalize(v1[rows]) @ normalize(v2).T / tau, rows)``), and
  (b) ours, ``recbole_darec.model.simgcl.info_nce_against_all``: each distinct row once, its loss
      weighted by its count, the temperature folded into the anchors, scored by ``cross_entropy``
      with the positive's column (``contrastive.info_nce``), and
  (c) the same distinct rows and counts written as ``logsumexp(logits) - positive score`` (our
      ``info_nce`` before it took the positive's column),
and prints the wall time of each (median and inter-quartile range over interleaved repeats after
warm-up), the speed-up of (b) over (a) and over (c), and the largest difference between (a) and
(b) in the loss and in the gradients (float32).

Shapes: a batch of 4096 rows, of which ``--distinct`` are distinct (3,005-3,072 users and
3,088-3,164 items in the first six Yelp batches of RLMRec's split with batch 4096), against a table
of ``--rows`` rows (Yelp: 11,092 users, 11,011 items; Amazon-book: 11,001 users, 9,333 items).

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python run_scripts/bench_infonce.py
    .venv/bin/python run_scripts/bench_infonce.py --device cuda
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _bench_common import (  # noqa: E402
    fmt_median_iqr_ms, machine_description, machine_speed_probe, markdown_table, resolve_device,
    time_round_robin)

from recbole_darec.model.simgcl import info_nce_against_all  # noqa: E402


def one_row_per_repeat(view_1, view_2, rows, tau):
    anchors = F.normalize(view_1[rows], dim=-1)
    return F.cross_entropy(anchors @ F.normalize(view_2, dim=-1).T / tau, rows)


def logsumexp_form(view_1, view_2, rows, tau):
    distinct, counts = torch.unique(rows, return_counts=True)
    anchors = F.normalize(view_1[distinct], dim=-1) / tau
    candidates = F.normalize(view_2, dim=-1)
    per_row = torch.logsumexp(anchors @ candidates.T, dim=1) - (anchors * candidates[distinct]).sum(dim=1)
    return (per_row * counts).sum() / len(rows)


def batch_rows(n_rows, batch, distinct, generator):
    chosen = torch.randperm(n_rows, generator=generator)[:distinct]
    repeats = chosen[torch.randint(0, distinct, (batch - distinct,), generator=generator)]
    return torch.cat([chosen, repeats])[torch.randperm(batch, generator=generator)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[11092, 9333])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--distinct", type=int, default=3050)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--tau", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = resolve_device(args.device)

    table = []
    for n_rows in args.rows:
        generator = torch.Generator().manual_seed(args.seed)
        view_1 = torch.randn(n_rows, args.dim, generator=generator).to(device).requires_grad_()
        view_2 = torch.randn(n_rows, args.dim, generator=generator).to(device).requires_grad_()
        rows = batch_rows(n_rows, args.batch, args.distinct, generator).to(device)
        results = {}

        def forward_backward(loss_fn, name):
            def run(_):
                loss = loss_fn(view_1, view_2, rows, args.tau)
                results[name] = (loss.detach(), torch.autograd.grad(loss, (view_1, view_2)))
            return run

        times = time_round_robin({"one row per repeat": forward_backward(one_row_per_repeat, "reference"),
                                  "ours": forward_backward(info_nce_against_all, "ours"),
                                  "logsumexp form": forward_backward(logsumexp_form, "logsumexp form")},
                                 device, args.repeats, args.warmup)
        median = {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}
        (loss_a, grads_a), (loss_b, grads_b) = results["reference"], results["ours"]
        grad_gap = max((a - b).abs().max().item() for a, b in zip(grads_a, grads_b))
        table.append([n_rows, f"{args.batch} ({args.distinct} distinct)",
                      fmt_median_iqr_ms(times["one row per repeat"]), fmt_median_iqr_ms(times["logsumexp form"]),
                      fmt_median_iqr_ms(times["ours"]),
                      f"{median['one row per repeat'] / median['ours']:.2f}x",
                      f"{median['logsumexp form'] / median['ours']:.2f}x",
                      f"{(loss_a - loss_b).abs().item():.1e}", f"{grad_gap:.1e}"])

    print(f"Machine: {machine_description(device)}; 512x512 matmul probe "
          f"{machine_speed_probe():.2f} ms; seed {args.seed}, {args.repeats} repeats after {args.warmup} warm-up, "
          f"d = {args.dim}, tau = {args.tau}")
    print()
    print(markdown_table(["table rows", "batch rows", "one row per repeat, ms (median [IQR])",
                          "distinct rows, logsumexp form, ms", "ours, ms", "speed-up vs one row per repeat",
                          "vs logsumexp form", "|loss diff|", "max |grad diff|"], table))


if __name__ == "__main__":
    main()
