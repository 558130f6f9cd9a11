r"""What the ml-100k leak did: the same rows measured on leaked and on clean user vectors, side by side.

    .venv/bin/python run_scripts/leak_report.py [--leaked results/leaked/claim-ml-100k.csv ...]
        [--clean results/claim-ml-100k.csv ...] [--output results/leak-ml-100k.md]

The inputs are ``compare.py`` summary tables (one row per backbone and variant, mean and std per
metric), paired in order: the n-th ``--leaked`` table against the n-th ``--clean`` one. The
leaked runs read one user-vector file embedded from seed 2020's split while training seeds 1-3,
whose held-out items are about 80% inside that split's training pairs (docs/embedding.md). A row is listed when both tables hold it.
"""

import argparse
import csv
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

HEADLINE = ("recall@20", "ndcg@20")
TABLES = ("claim-ml-100k", "claim-sgl-ml-100k", "claim-simgcl-ml-100k")


def read_table(path):
    with open(path, newline="") as f:
        return {(row["backbone"], row["variant"]): row for row in csv.DictReader(f)}


def read_pairs(leaked_paths, clean_paths):
    r"""``[(leaked table, clean table)]``, the n-th leaked table with the n-th clean one. A clean
    table identical to its leaked one has not been re-measured, and is refused."""
    pairs = []
    for leaked_path, clean_path in zip(leaked_paths, clean_paths):
        leaked_path, clean_path = (os.path.join(REPO, p) for p in (leaked_path, clean_path))
        with open(leaked_path, "rb") as a, open(clean_path, "rb") as b:
            if a.read() == b.read():
                raise SystemExit(f"{clean_path} is identical to {leaked_path}: that table has not been "
                                 f"re-measured on clean vectors yet, so there is nothing to compare")
        pairs.append((read_table(leaked_path), read_table(clean_path)))
    return pairs


def cell(row, metric):
    return f"{float(row[f'{metric}_mean']):.4f} ± {float(row[f'{metric}_std']):.4f}"


def report(pairs, command):
    lines = ["# What the ml-100k leak did: leaked against clean user vectors", "", f"Command: `{command}`", "",
             "Each row: the same variant, seeds 1 2 3, test metrics of the best-validation checkpoint "
             "(mean ± std; a row with fewer clean runs is still being measured). *Leaked*: every seed read user vectors embedded from seed 2020's split. "
             "*Clean*: each seed read vectors embedded from its own split. Runs that read no vectors "
             "(the base) are the same in both.", "",
             "| backbone | variant | clean runs | " + " | ".join(f"{m} leaked | {m} clean | change" for m in HEADLINE)
             + " |", "|---" * (3 + 3 * len(HEADLINE)) + "|"]
    for leaked, clean in pairs:
        for key in clean:
            if key not in leaked:
                continue
            parts = []
            for metric in HEADLINE:
                old, new = float(leaked[key][f"{metric}_mean"]), float(clean[key][f"{metric}_mean"])
                parts += [cell(leaked[key], metric), cell(clean[key], metric), f"{100 * (new - old) / old:+.1f}%"]
            lines.append(f"| {key[0]} | {key[1]} | {clean[key]['runs']} | " + " | ".join(parts) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leaked", nargs="+", default=[f"results/leaked/{name}.csv" for name in TABLES])
    parser.add_argument("--clean", nargs="+", default=[f"results/{name}.csv" for name in TABLES])
    parser.add_argument("--output", default="results/leak-ml-100k.md")
    args = parser.parse_args(argv)
    if len(args.leaked) != len(args.clean):
        parser.error(f"--leaked names {len(args.leaked)} tables and --clean {len(args.clean)}: "
                     "give one clean table for each leaked one, in the same order")
    from recbole_darec.files import atomic_write

    command = (f"python run_scripts/leak_report.py --leaked {' '.join(args.leaked)} --clean {' '.join(args.clean)} "
               f"--output {args.output}")
    text = report(read_pairs(args.leaked, args.clean), command)
    atomic_write(os.path.join(REPO, args.output), lambda f: f.write(text.encode()))
    print(text)


if __name__ == "__main__":
    main()
