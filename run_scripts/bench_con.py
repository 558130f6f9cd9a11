r"""Benchmark of RLMRec-Con's training step: one row per batch row, or each distinct row once.

RLMRec-Con maps language-model vectors into the collaborative space with an MLP and contrasts the
batch's users, positive items and negative items with them (B x B logits per item column). A batch
repeats popular items and users. Compares, on a real batch of ``--dataset`` with its real vectors,
one whole training step (``calculate_loss``, backward) of ``--model`` with
  (a) one row per batch row, repeats included: the MLP on every row of each item column (and of
      the user column with ``con_negatives: batch``), B x B logits (our layout before this bench), and
  (b) ours, ``RLMRecConRecommender.alignment_losses``: each distinct user and item once, through
      the MLP and as anchor and candidate, weighted by its count (``contrastive.info_nce``),
and prints the wall time of each (median and inter-quartile range over interleaved repeats after
warm-up), the speed-up, and the largest difference in the Con loss and in the gradients (float32).
The model's noise (SimGCL) is re-seeded identically for both, so the two steps see the same views.

Usage (from the repository root, after ``python -m recbole_darec.embed`` for ml-100k, as the demo does):
    OMP_NUM_THREADS=1 .venv/bin/python run_scripts/bench_con.py
    .venv/bin/python run_scripts/bench_con.py --model LightGCNCon --device cuda
"""

import argparse
import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from _bench_common import (  # noqa: E402
    fmt_median_iqr_ms, machine_description, machine_speed_probe, markdown_table, resolve_device,
    time_round_robin)

from recbole_darec.model.contrastive import info_nce, own_rows  # noqa: E402


def every_row_alignment(self, user_table, item_table, interaction):
    r"""RLMRec-Con's term with one row per batch row, repeats included."""
    users = interaction[self.USER_ID]
    user_llm, item_llm = self.llm_vectors[: self.n_users], self.llm_vectors[self.n_users:]
    if self.con_negatives == "all":
        candidates, positive_columns = self.llm_to_cf(user_llm[1:]), users - 1
    else:
        candidates, positive_columns = self.llm_to_cf(user_llm[users]), own_rows(users)
    loss = info_nce(user_table[users], candidates, positive_columns, self.con_tau)
    for column in (self.ITEM_ID, self.NEG_ITEM_ID):
        items = interaction[column]
        mapped = self.llm_to_cf(item_llm[items])
        loss = loss + info_nce(item_table[items], mapped, own_rows(items), self.con_tau)
    return (self.con_weight * loss,)


def build_with_batch(model_name, dataset, config_files, device, overrides):
    import recbole_darec  # noqa: F401
    from recbole.config import Config

    from recbole_darec.experiments.build import build
    from recbole_darec.experiments.vectors import ensure_split_vectors

    # The vectors of the split this seed makes, before the dataset that reads them is built.
    seed = Config(model=model_name, dataset=dataset, config_file_list=config_files, config_dict=overrides)["seed"]
    ensure_split_vectors(dataset, model_name, config_files, seed)
    config, _, (train, _, _), model = build(model_name, dataset, config_files, {
        "device": str(device), "state": "WARNING", "use_gpu": device.type == "cuda", **overrides})
    return model, next(iter(train)).to(config["device"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="SimGCLCon")
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--config_files", nargs="+",
                        default=[os.path.join(REPO, "properties", "ml-100k-demo.yaml"),
                                 os.path.join(REPO, "properties", "ml-100k", "SimGCL.yaml")])
    parser.add_argument("--negatives", nargs="+", default=["all", "batch"], help="con_negatives values to time")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    sys.argv = sys.argv[:1]  # RecBole's Config must not read our flags
    device = resolve_device(args.device)

    table = []
    for negatives in args.negatives:
        model, batch = build_with_batch(args.model, args.dataset, args.config_files, device, {"con_negatives": negatives})
        ours = model.alignment_losses
        reference = types.MethodType(every_row_alignment, model)
        parameters = [p for p in model.parameters() if p.requires_grad]
        results = {}

        def step(alignment, name):
            def run(i):
                model.alignment_losses = alignment
                torch.manual_seed(args.seed + max(i, 0))
                model.zero_grad(set_to_none=True)
                losses = model.calculate_loss(batch)
                sum(losses).backward()
                results[name] = (losses[-1].detach(), [p.grad.clone() for p in parameters])
            return run

        times = time_round_robin({"every row": step(reference, "every row"), "ours": step(ours, "ours")},
                                 device, args.repeats, args.warmup)
        (loss_a, grads_a), (loss_b, grads_b) = results["every row"], results["ours"]
        middle = len(times["ours"]) // 2
        speedup = sorted(times["every row"])[middle] / sorted(times["ours"])[middle]
        grad_gap = max((a - b).abs().max().item() for a, b in zip(grads_a, grads_b))
        distinct = "/".join(str(len(batch[c].unique())) for c in (model.USER_ID, model.ITEM_ID, model.NEG_ITEM_ID))
        table.append([args.model, negatives, f"{len(batch)} ({distinct} distinct users/pos/neg)",
                      fmt_median_iqr_ms(times["every row"]), fmt_median_iqr_ms(times["ours"]),
                      f"{speedup:.2f}x", f"{(loss_a - loss_b).abs().item():.1e}", f"{grad_gap:.1e}"])

    print(f"Machine: {machine_description(device)}; 512x512 matmul probe {machine_speed_probe():.2f} ms; "
          f"{args.dataset}, seed {args.seed}, {args.repeats} repeats after {args.warmup} warm-up; "
          "a whole training step (calculate_loss + backward)")
    print()
    print(markdown_table(["model", "con_negatives", "batch rows", "every row, ms (median [IQR])", "ours, ms",
                          "speed-up", "|Con loss diff|", "max |grad diff|"], table))


if __name__ == "__main__":
    main()
