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
import contextlib
import csv
import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The working tree's recbole_darec, not an older installed copy (a script's own folder,
# not the working directory, heads sys.path).
sys.path.insert(0, REPO)


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


# Columns of a run that are neither test metrics nor averaged into the table.
RUN_BOOKKEEPING = ("model", "seed", "best_valid", "seconds", "epochs", "best_epoch", "resumed_after_epoch",
                   "vectors")
INTEGER_COLUMNS = ("seed", "epochs", "best_epoch", "resumed_after_epoch")
# Text columns of a run: ``vectors`` is the digest of the language-vector files it read.
STRING_COLUMNS = ("model", "vectors")


@contextlib.contextmanager
def watch_training(before=None, progress=None):
    r"""Count the epochs RecBole's ``Trainer.fit`` trains and find the epoch of the best validation
    score (``run_recbole`` returns neither). Patches the base class, so every trainer that calls
    ``super()._train_epoch`` / ``_valid_epoch`` (SGL's, DaRec's) is counted; restored on exit.
    ``before``: what a resumed run had seen (``epochs``, ``best_epoch``, ``best``). ``progress``:
    a label (``"DaRecLightGCN seed 1"``); each validation then prints one line under it."""
    from recbole.trainer import Trainer

    seen = {"epochs": 0, "best_epoch": None, "best": None, **(before or {})}
    train_epoch, valid_epoch = Trainer._train_epoch, Trainer._valid_epoch

    def counted_train_epoch(self, train_data, epoch_idx, *args, **kwargs):
        seen["epochs"] = max(seen["epochs"], epoch_idx + 1)
        return train_epoch(self, train_data, epoch_idx, *args, **kwargs)

    def tracked_valid_epoch(self, *args, **kwargs):
        score, result = valid_epoch(self, *args, **kwargs)
        # RecBole's early_stopping counts an equal score as a gain and saves that later checkpoint,
        # which is the one tested: the best epoch is the last of equal scores.
        better = seen["best"] is None or (score >= seen["best"] if self.valid_metric_bigger else score <= seen["best"])
        if better:
            seen["best"], seen["best_epoch"] = score, seen["epochs"]
        if progress:
            print(f"  {progress}: epoch {seen['epochs']}, valid {self.valid_metric} {score:.4f} "
                  f"(best {seen['best']:.4f} at epoch {seen['best_epoch']})", flush=True)
        return score, result

    Trainer._train_epoch, Trainer._valid_epoch = counted_train_epoch, tracked_valid_epoch
    try:
        yield seen
    finally:
        Trainer._train_epoch, Trainer._valid_epoch = train_epoch, valid_epoch


def progress_before(resume_file):
    r"""What an interrupted run had done by its last validation, from its ``resume_file``: the
    epochs, best epoch and score (for :func:`watch_training`) and the seconds spent; {} if none."""
    from recbole_darec.resume import read_resume_state

    if not os.path.exists(resume_file):
        return {}
    state = read_resume_state(resume_file)
    return {"epochs": state["epoch"] + 1, "best_epoch": state["best_epoch"],
            "best": state["best_valid_score"], "seconds": state["fit_seconds"]}


def train(model, dataset, seed, config_files, overrides, resume_dir=None, evaluate=None, progress=False):
    r"""Train and test one model with ``run_recbole``; the run's row. With ``resume_dir`` the best
    checkpoint and a ``resume_file`` (recbole_darec/resume.py) live there, so that an interrupted
    run continues from its last validation when called again (the row then says after which
    epoch, and its seconds include the interrupted part's training); the caller removes the
    folder once the row is safe. ``evaluate(checkpoint file)`` adds its dict of metrics to the row
    (the cold-start metrics of run_scripts/cold_start.py). ``progress`` prints a line per validation."""
    import recbole_darec  # noqa: F401
    from recbole.quick_start import run_recbole

    config = {"seed": seed, "state": "WARNING", **overrides}
    before = {}
    if resume_dir is None:
        config["checkpoint_dir"] = tempfile.mkdtemp(prefix="demo-ckpt-")
    else:
        resume_file = os.path.join(resume_dir, "run.resume")
        config.update(checkpoint_dir=resume_dir, resume_file=resume_file)
        before = progress_before(resume_file)
        if before:
            print(f"  {model} seed {seed}: resuming after epoch {before['epochs']} ({resume_file})", flush=True)
    from recbole_darec.experiments.vectors import vectors_digest

    vectors = vectors_digest(model, dataset, config_files, seed, overrides)
    start = time.perf_counter()
    label = f"{model} seed {seed}" if progress else None
    with watch_training({k: v for k, v in before.items() if k != "seconds"}, label) as seen:
        result = run_recbole(model=model, dataset=dataset, config_file_list=config_files, config_dict=config)
    seconds = time.perf_counter() - start + before.get("seconds", 0.0)
    row = {"model": model, "seed": seed, **result["test_result"], "best_valid": result["best_valid_score"],
           "seconds": seconds, "epochs": seen["epochs"], "best_epoch": seen["best_epoch"]}
    if evaluate is not None:
        saved = [os.path.join(config["checkpoint_dir"], f) for f in os.listdir(config["checkpoint_dir"])
                 if f.endswith(".pth")]
        row.update(evaluate(max(saved, key=os.path.getmtime)))
    if before:
        row["resumed_after_epoch"] = before["epochs"]
    if vectors:
        row["vectors"] = vectors
    print(f"  {model} seed {seed}: " + ", ".join(f"{m} {v:.4f}" for m, v in result["test_result"].items())
          + f", {seconds:.0f} s, {seen['epochs']} epochs (best at {seen['best_epoch']})", flush=True)
    return row


def mean_std(values):
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), spread


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
    done = _read_partial(partial) if args.resume else {}
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
            rows.append(train(model, args.dataset, seed, config_files, overrides, progress=True))
            _write_atomically(partial, lambda f: _write_csv(f, rows))
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
    _write_atomically(output + ".md", lambda f: f.write(report))
    _write_atomically(output + ".csv", lambda f: _write_csv(f, rows))
    if os.path.exists(partial):
        os.remove(partial)
    print(f"written: {output}.md and .csv")


def _write_atomically(path, write):
    # A unique temp file: two invocations writing one output must not share (and truncate) it.
    from recbole_darec.files import atomic_write_text

    atomic_write_text(path, write)


def _read_partial(path):
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {(row["model"], int(row["seed"])): {
        key: (value if key in STRING_COLUMNS else int(value) if key in INTEGER_COLUMNS else float(value))
        for key, value in row.items() if value != ""} for row in rows}


def _write_csv(f, rows):
    # A resumed partial file may hold runs made before a column (epochs) was recorded.
    fields = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    main()
