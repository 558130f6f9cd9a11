r"""DaRec's ablations on one backbone as one table, from a compare.py runs file.

    .venv/bin/python run_scripts/ablation_table.py --runs results/claim-simgcl-cl.runs.csv --dataset steam
        --backbone SimGCL [--base base] [--con con:con_negatives=batch] [--full darec:darec_interval=10]

Each ablation row (no_disentangle, no_uniformity, no_orthogonal, no_local, no_global, hungarian,
with the full row's settings): R@20 / N@20 mean ± std over seeds 1 2 3, and its relative
difference (paired t-test p) against full DaRec, the backbone and RLMRec-Con. Prints markdown.
"""

import argparse
import csv
import statistics

ABLATIONS = ("no_disentangle", "no_uniformity", "no_orthogonal", "no_local", "no_global", "hungarian")
METRICS = ("recall@20", "ndcg@20")


def main(argv=None):
    from scipy import stats

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--base", default="base")
    parser.add_argument("--con", default="con:con_negatives=batch")
    parser.add_argument("--full", default="darec:darec_interval=10")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    with open(args.runs, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] == args.dataset and r["backbone"] == args.backbone]
    by = {}
    for row in rows:
        by.setdefault(row["variant"], {}).setdefault(int(row["seed"]), row)
    own = args.full.partition(":")[2]

    def values(variant, metric):
        if variant not in by or any(s not in by[variant] for s in args.seeds):
            raise SystemExit(f"{args.runs}: {variant} lacks a run for some of seeds {args.seeds}")
        return [float(by[variant][s][metric]) for s in args.seeds]

    def against(variant, other):
        cells = []
        for metric in METRICS:
            mine, theirs = values(variant, metric), values(other, metric)
            change = (statistics.mean(mine) - statistics.mean(theirs)) / statistics.mean(theirs)
            cells.append(f"{100 * change:+.1f}% (p {stats.ttest_rel(mine, theirs).pvalue:.3f})")
        return " / ".join(cells)

    print(f"| {args.backbone} on {args.dataset} | R@20 / N@20 | vs full DaRec | vs {args.backbone} | vs Con |")
    print("|---|---|---|---|---|")
    for name in ABLATIONS:
        variant = f"{name}:{own}" if own else name
        if variant not in by:
            continue
        means = " / ".join(f"{statistics.mean(values(variant, m)):.4f} ± {statistics.stdev(values(variant, m)):.4f}"
                           for m in METRICS)
        print(f"| {name} | {means} | {against(variant, args.full)} | {against(variant, args.base)} | "
              f"{against(variant, args.con)} |")


if __name__ == "__main__":
    main()
