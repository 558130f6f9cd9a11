r"""Run a models x datasets x seeds grid through RecBole and write the comparison tables.

    .venv/bin/python run_scripts/reproduce.py --grid published      # (a) backbones vs RLMRec's Table 1
    .venv/bin/python run_scripts/reproduce.py --grid darec          # (b) each backbone vs its DaRec version
    .venv/bin/python run_scripts/reproduce.py --models M1 M2 --datasets D1 D2 --seeds 1 2 3
        [--config DATASET=a.yaml,b.yaml ...] [--output results/NAME] [--fresh] [--key=value ...]

Grids:
  published: LightGCN, RLMRecLightGCN, SGL, SimGCL on amazon-book and yelp with properties/rlmrec.yaml
             (import the data first: docs/datasets.md); beside each mean, RLMRec's published number
             and the relative difference (target: within 5% on R@20 and N@20). RecBole's LightGCN
             and RLMRecLightGCN (RLMRec's own LightGCN) are both compared with its LightGCN row.
  darec:     LightGCN, SGL, SimGCL and their DaRec versions on ml-100k (properties/ml-100k-demo.yaml)
             and steam (properties/rlmrec.yaml); the relative gain of each DaRec<X> over <X> and
             whether it exceeds 2 std. ml-100k's vectors are encoded for each seed's split before
             its first aligned run (as demo.py does); Steam's come from its builder (docs/datasets.md).

Every finished run is appended at once to ``<output>.runs.csv`` with a fingerprint of its setting
(config files' content and the --key=value overrides); a rerun skips those cells, so an
interrupted grid resumes and a larger ``--seeds`` adds only the new runs (``--fresh`` discards
them); the run that was under way continues from its last validation (``<output>.resume/``,
docs/resume.md). ``<output>.md`` and ``.csv`` (one row per model and dataset: mean and std per metric) are
rewritten after every run. Invocations may share one output at the same time (say one per dataset
on a 2-core machine): a run is appended under a file lock to what is on disk, not to this
process's copy, and a cell another invocation is training is skipped. ``--report-only`` rewrites the tables from the finished runs without training, so
cells with fewer seeds than asked are reported as they are (the ``runs`` column says how many).
"""

import argparse
import csv
import datetime
import os
import sys

from recbole_darec.experiments import REPO
from recbole_darec.experiments.cell import train_cell
from recbole_darec.experiments.runs import (
    cell_folder,
    one_per_seed,
    read_runs,
    setting_fingerprint,
    write_runs,
)
from recbole_darec.experiments.stats import mean_std
from recbole_darec.experiments.vectors import (
    ensure_split_vectors,
    reads_llm_vectors,
    same_vectors,
    vectors_digest,
)
from recbole_darec.files import atomic_write_text

PUBLISHED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published_rlmrec_table1.csv")
RLMREC_YAML = os.path.join("properties", "rlmrec.yaml")
# RLMRec tunes each backbone per dataset; those settings live beside the protocol.
RLMREC_BACKBONE_YAML = os.path.join("properties", "rlmrec", "{dataset}", "{backbone}.yaml")
RLMREC_CONFIG = [RLMREC_YAML, RLMREC_BACKBONE_YAML]
GRIDS = {
    "published": {
        "models": ["LightGCN", "RLMRecLightGCN", "SGL", "RLMRecSGL", "SimGCL"],
        "datasets": ["amazon-book", "yelp"],
        "config": {"amazon-book": RLMREC_CONFIG, "yelp": RLMREC_CONFIG},
        "output": os.path.join("results", "rlmrec-backbones"),
    },
    "darec": {
        "models": ["LightGCN", "DaRecLightGCN", "SGL", "DaRecSGL", "SimGCL", "DaRecSimGCL"],
        "datasets": ["ml-100k", "steam"],
        "config": {"ml-100k": [os.path.join("properties", "ml-100k-demo.yaml"),
                               os.path.join("properties", "ml-100k", "{backbone}.yaml")],
                   "steam": RLMREC_CONFIG + [os.path.join("properties", "steam-resplit.yaml")]},
        "output": os.path.join("results", "darec-gain"),
    },
}
HEADLINE = ("recall@20", "ndcg@20")
# Datasets whose split is not the one RLMRec's Table 1 used: no published column for them.
NOT_RLMRECS_SPLIT = {"steam": "Steam here is our 3:1:1 re-split of RLMRec's validation + test pairs "
                              "(docs/datasets.md), not RLMRec's split: Table 1's Steam numbers do not apply."}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", choices=sorted(GRIDS), help="a preset; the other options override it")
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--config", action="append", default=[], metavar="DATASET=a.yaml,b.yaml",
                        help="config files of one dataset (repeatable)")
    parser.add_argument("--output", help="results/NAME (without suffix)")
    parser.add_argument("--fresh", action="store_true", help="discard the runs of an earlier invocation")
    parser.add_argument("--report-only", action="store_true",
                        help="write the tables from the finished runs; train nothing")
    args, extra = parser.parse_known_args(argv)
    bad = [arg for arg in extra if not (arg.startswith("--") and "=" in arg)]
    if bad:
        parser.error(f"unrecognised arguments {bad}: RecBole settings are given as --key=value")
    overrides = dict(arg[2:].split("=", 1) for arg in extra)
    preset = GRIDS.get(args.grid, {})
    args.models = args.models or preset.get("models")
    args.datasets = args.datasets or preset.get("datasets")
    args.output = args.output or preset.get("output")
    if not (args.models and args.datasets and args.output):
        parser.error("give --grid, or --models, --datasets and --output")
    for model in args.models:  # before hours of training the others, not at the misspelt cell
        try:
            load_model_class(model)
        except (ValueError, ImportError) as error:
            parser.error(f"--models {model!r}: {error}")
    config = dict(preset.get("config", {}))
    for item in args.config:
        dataset, _, files = item.partition("=")
        if not files:
            parser.error(f"--config {item!r}: expected DATASET=a.yaml[,b.yaml]")
        config[dataset] = files.split(",")
    args.config = {d: [os.path.abspath(os.path.join(REPO, f)) for f in config.get(d, [])] for d in args.datasets}
    missing = sorted({path for d in args.datasets for m in args.models for path in config_files(args, d, m)
                      if not os.path.exists(path)})
    if missing:
        parser.error("config files not found: " + ", ".join(os.path.relpath(p, REPO) for p in missing)
                     + " ({dataset} and {backbone} in a --config path are filled per cell; "
                       "{backbone} is the model name without its DaRec prefix or Con/Gen suffix)")
    return args, overrides


def load_model_class(name):
    import recbole_darec  # noqa: F401  (registers our models with RecBole and names a misspelt one)
    from recbole.utils import get_model

    return get_model(name)


def backbone(model):
    r"""``DaRecSGL``, ``SGLCon``, ``SGLGen`` -> ``SGL``: an aligned model reads its backbone's setting;
    ``RLMRecLightGCN`` (RLMRec's LightGCN) reads LightGCN's, ``RLMRecSGL`` SGL's."""
    for prefix in ("DaRec", "RLMRec"):
        if model.startswith(prefix) and len(model) > len(prefix):
            return model[len(prefix):]
    if model.endswith(("Con", "Gen")) and len(model) > 3:
        return model[:-3]
    return model


def published_row(model):
    r"""The row of RLMRec's Table 1 a model is compared with: RLMRecLightGCN is RLMRec's LightGCN,
    RLMRecSGL its SGL."""
    return model[len("RLMRec"):] if model.startswith("RLMRec") and len(model) > len("RLMRec") else model


def config_files(args, dataset, model):
    r"""The cell's config files: ``{dataset}`` and ``{backbone}`` in a path are filled in, so a DaRec
    model reads its backbone's per-dataset setting."""
    return [path.format(dataset=dataset, backbone=backbone(model)) for path in args.config[dataset]]


def read_published(path=PUBLISHED):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return {(row["model"], row["dataset"]): {k: float(v) for k, v in row.items() if "@" in k} for row in rows}


def summarise(runs, models, datasets, settings, seeds):
    r"""Mean and std per (model, dataset) over this invocation's seeds and setting."""
    summary = {}
    for dataset in datasets:
        for model in models:
            mine = one_per_seed([r for r in runs if r["model"] == model and r["dataset"] == dataset
                                 and r["setting"] == settings[(dataset, model)] and r["seed"] in seeds])
            if not mine:
                continue
            metrics = [k for k in mine[0] if "@" in k] + ["best_valid", "seconds"]
            # Runs made before epochs were recorded lack them: shown as '?' rather than averaged over fewer.
            metrics += [k for k in ("epochs", "best_epoch") if all(k in r for r in mine)]
            summary[(model, dataset)] = {
                "n": len(mine), **{m: mean_std([r[m] for r in mine]) for m in metrics}}
    return summary


def report(args, overrides, summary, published, command):
    lines = [f"# {os.path.basename(args.output)}: {', '.join(args.models)} on {', '.join(args.datasets)}", "",
             f"Command: `{command}`", "",
             f"Seeds: {args.seeds}. Machine: {os.cpu_count()} CPU cores. Date: {datetime.date.today()}. "
             "Test metrics of the best-validation checkpoint, mean ± std over seeds.", ""]
    for dataset in args.datasets:
        files = ", ".join(os.path.relpath(f, REPO) for f in args.config[dataset]) or "RecBole defaults"
        lines += [f"## {dataset}", "", f"Config: {files}.", ""]
        cells = [(m, summary[(m, dataset)]) for m in args.models if (m, dataset) in summary]
        if not cells:
            lines += ["(no finished run yet)", ""]
            continue
        metrics = [k for k in cells[0][1] if "@" in k]
        lines.append("| model | runs | " + " | ".join(metrics) + " | epochs trained (best at) | wall time (s) |")
        lines.append("|---" * (len(metrics) + 4) + "|")
        for model, stats in cells:
            row = [f"{stats[m][0]:.4f} ± {stats[m][1]:.4f}" if stats["n"] > 1 else f"{stats[m][0]:.4f}"
                   for m in metrics]
            epochs = (f"{stats['epochs'][0]:.0f} ({stats['best_epoch'][0]:.0f})"
                      if "epochs" in stats and "best_epoch" in stats else "?")
            lines.append(f"| {model} | {stats['n']} | " + " | ".join(row)
                         + f" | {epochs} | {stats['seconds'][0]:.0f} |")
        compared = [(m, s, published[(published_row(m), dataset)]) for m, s in cells
                    if (published_row(m), dataset) in published and dataset not in NOT_RLMRECS_SPLIT]
        if dataset in NOT_RLMRECS_SPLIT:
            lines += ["", NOT_RLMRECS_SPLIT[dataset]]
        if compared:
            lines += ["", "Against RLMRec's published Table 1 (relative difference; target within ±5% on "
                      "R@20 and N@20):", "", "| model | " + " | ".join(
                          f"{m} ours / published / diff" for m in HEADLINE) + " | within 5% |", "|---" * 4 + "|"]
            for model, stats, reference in compared:
                diffs = [(stats[m][0] - reference[m]) / reference[m] for m in HEADLINE]
                parts = [f"{stats[m][0]:.4f} / {reference[m]:.4f} / {100 * d:+.1f}%" for m, d in zip(HEADLINE, diffs)]
                verdict = "yes" if all(abs(d) <= 0.05 for d in diffs) else "no"
                lines.append(f"| {model} | " + " | ".join(parts) + f" | {verdict} |")
        pairs = [(base, other) for base, _ in cells for other, _ in cells if other == f"DaRec{base}"]
        if pairs:
            lines += ["", "DaRec against its backbone (relative gain; 'beyond 2 std' when the difference "
                      "exceeds twice the larger std):", ""]
            for base, other in pairs:
                b, o = summary[(base, dataset)], summary[(other, dataset)]
                gains = []
                for m in metrics:
                    (bm, bs), (om, os_) = b[m], o[m]
                    enough = min(b["n"], o["n"]) > 1
                    verdict = "beyond 2 std" if enough and abs(om - bm) > 2 * max(bs, os_) else "within noise"
                    gains.append(f"{m} {100 * (om - bm) / bm:+.1f}% ({verdict})")
                lines.append(f"- {other} vs {base}: " + "; ".join(gains))
        lines.append("")
    return "\n".join(lines)


def summary_rows(summary):
    rows = []
    for (model, dataset), stats in summary.items():
        row = {"model": model, "dataset": dataset, "runs": stats["n"]}
        for metric, value in stats.items():
            if metric != "n":
                row[f"{metric}_mean"], row[f"{metric}_std"] = value
        rows.append(row)
    return rows


def prepare_output(name):
    r"""Absolute ``<output>`` and ``<output>.runs.csv``; the folder exists and the cwd is the repo."""
    sys.argv = sys.argv[:1]  # RecBole's Config must not re-read our flags
    output = os.path.abspath(os.path.join(REPO, name))
    os.makedirs(os.path.dirname(output), exist_ok=True)
    os.chdir(REPO)
    return output, output + ".runs.csv"


def main(argv=None):
    args, overrides = parse_args(argv)
    output, runs_path = prepare_output(args.output)
    if args.fresh and not args.report_only and os.path.exists(runs_path):
        os.remove(runs_path)
    runs = read_runs(runs_path)
    published = read_published()
    command = "python run_scripts/reproduce.py " + " ".join(
        (["--grid", args.grid] if args.grid else [])
        + ["--models", *args.models, "--datasets", *args.datasets, "--seeds", *map(str, args.seeds),
           "--output", args.output]
        + [f"--config {d}={','.join(os.path.relpath(f, REPO) for f in fs)}" for d, fs in args.config.items() if fs]
        + [f"--{k}={v}" for k, v in overrides.items()])

    settings = {(d, m): setting_fingerprint(config_files(args, d, m), overrides, reads_llm_vectors(m))
                for d in args.datasets for m in args.models}

    digests = {}

    def on_current_vectors(row):
        # A run made on vector files that were re-embedded since is not this grid's run.
        key = (row["model"], row["dataset"], row["seed"])
        if key[0] not in args.models or key[1] not in args.datasets:
            return True
        if key not in digests:
            digests[key] = vectors_digest(*key[:2], config_files(args, key[1], key[0]), key[2], overrides)
        return same_vectors(row, digests[key])

    def write_reports():
        summary = summarise([r for r in runs if on_current_vectors(r)], args.models, args.datasets, settings,
                            set(args.seeds))
        text = report(args, overrides, summary, published, command)
        atomic_write_text(output + ".md", lambda f: f.write(text))
        if summary:
            write_runs(output + ".csv", summary_rows(summary))
        return text

    for dataset in [] if args.report_only else args.datasets:
        for seed in args.seeds:
            for model in args.models:
                setting = settings[(dataset, model)]
                # First, so that the files the finished runs are compared with are this split's.
                if ensure_split_vectors(dataset, model, config_files(args, dataset, model), seed, overrides):
                    digests.clear()  # the files may have been re-embedded just now
                runs = read_runs(runs_path)  # another invocation may have finished this cell
                done = [r for r in runs if (r["model"], r["dataset"], r["seed"], r["setting"])
                        == (model, dataset, seed, setting) and on_current_vectors(r)]
                if done:
                    print(f"  {model} on {dataset} seed {seed}: done earlier ({runs_path})", flush=True)
                    continue
                folder = cell_folder(output, dataset, model, seed, setting)
                trained = train_cell(runs_path, folder, f"{model} on {dataset} seed {seed}", model, dataset, seed,
                                     config_files(args, dataset, model), overrides,
                                     {"model": model, "dataset": dataset, "setting": setting}, on_current_vectors)
                if trained is not None:
                    runs = trained
                    write_reports()
    runs = read_runs(runs_path)  # with the cells other invocations finished meanwhile
    print("\n" + write_reports())
    print(f"written: {output}.md, .csv and .runs.csv")


if __name__ == "__main__":
    main()
