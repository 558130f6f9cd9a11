r"""The offline ml-100k demo: embed, train LightGCN and DaRecLightGCN, print the comparison.

    .venv/bin/python run_scripts/demo.py [--seeds 1 2 3] [--models LightGCN DaRecLightGCN]
                                          [--config_files properties/ml-100k-demo.yaml] [--key=value ...]
                                          [--dataset ml-100k] [--embed-args "--encoder DIR ..."]
                                          [--output results/NAME] [--resume]

1. Before each seed's first model that reads vectors, ``python -m recbole_darec.embed`` encodes
   ml-100k's texts with the offline all-MiniLM-L6-v2 for that seed's split: the user texts list
   that seed's training items only (``dataset/ml-100k/ml-100k.seed<N>.user_llm.npz``; the item
   vectors are encoded once). A no-op when up to date.
2. Each model is trained with RecBole's ``run_recbole`` on the same split, seed, epochs and
   early stopping (validation NDCG@20); the best-validation checkpoint is tested once.
3. The table (the test metrics, the best validation score, wall time; mean ± std over seeds) is
   printed and written to ``results/runs/ml-100k-demo.md`` and ``.csv`` (untracked, so that a
   demo run never overwrites the committed tables; ``--output`` to choose), with the relative change of
   each ``DaRec<X>`` over ``<X>`` (or of the second model over the first, given two) and whether
   it exceeds 2 std. Each finished run is saved at once to ``<output>.partial.csv``;
   ``--resume`` skips those.

Extra ``--key=value`` arguments go to RecBole (e.g. ``--darec_weight=0.3``).
"""

import argparse
import datetime
import os
import sys

from recbole_darec.experiments import REPO
from recbole_darec.experiments.cell import train_run
from recbole_darec.experiments.runs import RUN_BOOKKEEPING, read_runs, write_rows
from recbole_darec.experiments.stats import mean_std
from recbole_darec.files import atomic_write_text


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--models", nargs="+", default=["LightGCN", "DaRecLightGCN"])
    parser.add_argument("--config_files", nargs="+", default=[os.path.join(REPO, "properties", "ml-100k-demo.yaml")])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--embed-args", default="", help="extra arguments for recbole_darec.embed")
    parser.add_argument("--output", default=None, help="default: results/runs/<dataset>-demo (untracked)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the runs an interrupted invocation left in <output>.partial.csv")
    args, extra = parser.parse_known_args()
    overrides = dict(arg[2:].split("=", 1) for arg in extra if arg.startswith("--") and "=" in arg)
    return args, overrides


def table(rows, models, seeds):
    metrics = [key for key in rows[0] if key not in RUN_BOOKKEEPING]
    columns = metrics + ["best_valid"]
    header = "| model | " + " | ".join(f"test {m}" if m in metrics else "best valid score" for m in columns)
    lines = [header + " | wall time (s) |", "|---" * (len(columns) + 2) + "|"]
    summary = {}
    for model in models:
        mine = [r for r in rows if r["model"] == model]
        summary[model] = {c: mean_std([r[c] for r in mine]) for c in columns + ["seconds"]}
        cells = [f"{summary[model][c][0]:.4f} ± {summary[model][c][1]:.4f}" for c in columns]
        seconds = summary[model]["seconds"]
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {seconds[0]:.0f} ± {seconds[1]:.0f} |")
    pairs = [(base, other) for other in models for base in models
             if other == f"DaRec{base}" or (len(models) == 2 and (base, other) == tuple(models))]
    if pairs:
        lines.append("")
    for base, other in pairs:
        gains = []
        for c in metrics:
            (b, bs), (o, os_) = summary[base][c], summary[other][c]
            verdict = "beyond 2 std" if abs(o - b) > 2 * max(bs, os_) and len(seeds) > 1 else "within noise"
            gains.append(f"{c} {100 * (o - b) / b:+.1f}% ({verdict})")
        lines.append(f"- {other} vs {base}: " + "; ".join(gains))
    return "\n".join(lines)


def default_output(dataset):
    r"""Where a run without ``--output`` writes: an untracked folder, never a committed table."""
    return os.path.join(REPO, "results", "runs", f"{dataset}-demo")


def _shown_path(path):
    r"""``path`` relative to the repository when inside it, so that a report reads the same on every clone."""
    relative = os.path.relpath(path, REPO)
    return path if relative.startswith(os.pardir) else relative


def main():
    args, overrides = parse_args()
    sys.argv = sys.argv[:1]  # our flags are parsed; RecBole's Config must not re-read them
    config_files = [os.path.abspath(f) for f in args.config_files]
    output = os.path.abspath(args.output or default_output(args.dataset))
    os.chdir(REPO)  # relative paths in the demo yaml (dataset/ml-100k/...) are the repo's
    from recbole_darec.experiments.vectors import ensure_split_vectors, same_vectors, vectors_digest
    # Finished runs are kept in a side file, so an interrupted grid resumes where it stopped.
    partial = output + ".partial.csv"
    os.makedirs(os.path.dirname(output), exist_ok=True)
    done = {(row["model"], row["seed"]): row for row in read_runs(partial)} if args.resume else {}
    rows = []
    for seed in args.seeds:
        for model in args.models:
            # The demo embeds its own dataset, whichever it is; first, so that a finished run is
            # compared with this split's files.
            ensure_split_vectors(args.dataset, model, config_files, seed, overrides, args.embed_args,
                                 embedded_here=(args.dataset,))
            if (model, seed) in done:
                if same_vectors(done[(model, seed)], vectors_digest(model, args.dataset, config_files, seed,
                                                                    overrides)):
                    rows.append(done[(model, seed)])
                    print(f"  {model} seed {seed}: done earlier ({partial})", flush=True)
                    continue
                print(f"  {model} seed {seed}: the run in {partial} read other vectors, trained again",
                      flush=True)
            print(f"  {model} seed {seed}: training (one line per validation)", flush=True)
            rows.append(train_run(model, args.dataset, seed, config_files, overrides, progress=True))
            atomic_write_text(partial, lambda f: write_rows(f, rows))
    command = "python run_scripts/demo.py " + " ".join(
        ["--seeds", *map(str, args.seeds), "--models", *args.models]
        + ([f"--output {os.path.relpath(output, REPO)}"] if args.output else [])
        + [f"--{k}={v}" for k, v in overrides.items()])
    report = (f"# {args.dataset}: {' vs '.join(args.models)}\n\n"
              f"Command: `{command}` (config: {', '.join(map(_shown_path, config_files))})\n"
              f"Seeds: {args.seeds}. Machine: {os.cpu_count()} CPU cores. Date: {datetime.date.today()}.\n"
              f"Test metrics of the best-validation checkpoint; mean ± std over seeds.\n\n"
              + table(rows, args.models, args.seeds) + "\n")
    print("\n" + report)
    atomic_write_text(output + ".md", lambda f: f.write(report))
    atomic_write_text(output + ".csv", lambda f: write_rows(f, rows))
    if os.path.exists(partial):
        os.remove(partial)
    print(f"written: {output}.md and .csv")


if __name__ == "__main__":
    main()
