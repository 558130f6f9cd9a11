r"""What the ml-100k leak did: the same rows measured on leaked and on clean user vectors, side by side.

    .venv/bin/python run_scripts/leak_report.py [--leaked results/leaked/claim-ml-100k.csv]
        [--clean results/claim-ml-100k.csv] [--output results/leak-ml-100k.md]

Both inputs are ``compare.py`` summary tables (one row per backbone and variant, mean and std per
metric). The leaked runs read one user-vector file embedded from seed 2020's split while training
seeds 1-3, whose held-out items are about 80% inside that split's training pairs
(docs/embedding.md). A row is listed when both tables hold it.
"""

import argparse
import csv
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

HEADLINE = ("recall@20", "ndcg@20")


def read_table(path):
    with open(path, newline="") as f:
        return {(row["backbone"], row["variant"]): row for row in csv.DictReader(f)}


def cell(row, metric):
    return f"{float(row[f'{metric}_mean']):.4f} ± {float(row[f'{metric}_std']):.4f}"


def report(leaked, clean, command):
    lines = ["# What the ml-100k leak did: leaked against clean user vectors", "", f"Command: `{command}`", "",
             "Each row: the same variant, seeds 1 2 3, test metrics of the best-validation checkpoint "
             "(mean ± std; a row with fewer clean runs is still being measured). *Leaked*: every seed read user vectors embedded from seed 2020's split. "
             "*Clean*: each seed read vectors embedded from its own split. Runs that read no vectors "
             "(the base) are the same in both.", "",
             "| backbone | variant | clean runs | " + " | ".join(f"{m} leaked | {m} clean | change" for m in HEADLINE)
             + " |", "|---" * (3 + 3 * len(HEADLINE)) + "|"]
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
    parser.add_argument("--leaked", default="results/leaked/claim-ml-100k.csv")
    parser.add_argument("--clean", default="results/claim-ml-100k.csv")
    parser.add_argument("--output", default="results/leak-ml-100k.md")
    args = parser.parse_args(argv)
    from recbole_darec.files import atomic_write

    command = (f"python run_scripts/leak_report.py --leaked {args.leaked} --clean {args.clean} "
               f"--output {args.output}")
    text = report(read_table(os.path.join(REPO, args.leaked)), read_table(os.path.join(REPO, args.clean)), command)
    atomic_write(os.path.join(REPO, args.output), lambda f: f.write(text.encode()))
    print(text)


if __name__ == "__main__":
    main()
