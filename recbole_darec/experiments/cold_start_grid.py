r"""Cold-start: how well each model ranks items that have no training interaction.

    .venv/bin/python run_scripts/cold_start.py --dataset ml-100k-cold [--data_path dataset]
        [--models Pop LightGCN LightGCNCon AlphaRec DaRecLightGCN:darec_score=fused,darec_interval=1]
        [--seeds 1 2 3] [--config properties/cold-start.yaml] [--output results/cold-start] [--key=value ...]

The dataset is a cold split (``python -m recbole_darec.datasets cold``: a share of the items only
in validation and test). Each model and seed trains through RecBole on its benchmark files
(early stopping on validation), then its best checkpoint is ranked once more for the cold / warm
/ all metrics of :mod:`recbole_darec.experiments.cold_start` (a model with a text path scores the
cold items from their vectors). The models that read vectors need
``python -m recbole_darec.embed --dataset NAME --data_path DIR --config_files CONFIG`` first: the
user texts then list this split's training items only, so they name no cold item.

Runs go to ``<output>-<dataset>.runs.csv`` (resumable per cell; two invocations may share it);
``<output>-<dataset>.md`` starts with the command and holds mean ± std over the seeds.
"""

import argparse
import os

from recbole_darec.experiments import REPO
from recbole_darec.experiments.cell import train_cell
from recbole_darec.experiments.reproduce import prepare_output
from recbole_darec.experiments.runs import cell_folder, read_runs, setting_fingerprint
from recbole_darec.experiments.stats import mean_std
from recbole_darec.experiments.vectors import reads_llm_vectors
from recbole_darec.files import atomic_write_text

KINDS = ("cold", "warm", "all")


def model_setting(spec):
    r"""``Model`` or ``Model:key=value,...`` -> (model, settings)."""
    model, _, own = spec.partition(":")
    pairs = [pair for pair in own.split(",") if pair]
    if any("=" not in pair for pair in pairs):
        raise ValueError(f"expected Model:key=value[,key=value], got {spec!r}")
    return model, dict(pair.split("=", 1) for pair in pairs)


def cell_settings(data_path, overrides, model, own):
    # RecBole's Pop counts every item id of the batch, the sampled negatives included: the
    # popularity floor counts the training interactions only.
    floor = {"train_neg_sample_args": "None"} if model == "Pop" else {}
    return {"data_path": data_path, **floor, **overrides, **own}


def cell_setting(config_files, settings, model):
    return setting_fingerprint(config_files, settings, reads_llm_vectors(model))


def evaluator(k):
    def evaluate(checkpoint):
        from recbole.quick_start import load_data_and_model

        from recbole_darec.experiments.cold_start import cold_warm_all

        _, model, _, train_data, valid_data, test_data = load_data_and_model(checkpoint)
        metrics = cold_warm_all(model, train_data, valid_data, test_data, k=k)
        text_path = metrics.pop("text_path")
        row = {f"{kind} {name}": value for kind, found in metrics.items() for name, value in found.items()
               if value is not None}
        return {**row, "text path": int(text_path)}
    return evaluate


def report(command, runs, specs, seeds, k):
    columns = [f"{kind} {metric}@{k}" for kind in KINDS for metric in ("recall", "ndcg")]
    lines = ["# Cold-start: items with no training interaction", "", f"Command: `{command}`", "",
             f"Seeds: {seeds}. Test metrics of the best-validation checkpoint, mean ± std over seeds; one full "
             f"ranking per test user (training and validation items masked), the ground truth restricted "
             f"to its cold / warm test items (recbole_darec/experiments/cold_start.py).", "",
             "| model | cold items ranked by | runs | " + " | ".join(columns) + " |", "|---" * (len(columns) + 3) + "|"]
    cold_recall = {}
    for spec in specs:
        mine = [r for r in runs if r["spec"] == spec and r["seed"] in seeds]
        if not mine:
            lines.append(f"| {spec} | | 0 |" + " |" * len(columns))
            continue
        ranked_by = "its text" if all(r.get("text path") for r in mine) else "its untrained row / popularity"
        cells = []
        for column in columns:
            values = [r[column] for r in mine if column in r]
            mean, std = mean_std(values) if values else (None, None)
            cells.append("" if mean is None else f"{mean:.4f} ± {std:.4f}" if len(values) > 1 else f"{mean:.4f}")
            if column == f"cold recall@{k}" and mean is not None:
                cold_recall[spec] = mean
        lines.append(f"| {spec} | {ranked_by} | {len(mine)} | " + " | ".join(cells) + " |")
    pop_cold = cold_recall.get("Pop")
    if pop_cold is not None:
        lines += ["", f"Cold Recall@{k} against Pop's ({pop_cold:.4f}; the target for a model that reads text is 3x):", ""]
        for spec, value in cold_recall.items():
            if spec != "Pop":
                ratio = "n/a (Pop's is 0)" if pop_cold == 0 else f"{value / pop_cold:.1f}x"
                lines.append(f"- {spec}: {ratio}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--data_path", default="dataset")
    parser.add_argument("--models", nargs="+",
                        default=["Pop", "LightGCN", "LightGCNCon", "AlphaRec",
                                 "DaRecLightGCN:darec_score=fused,darec_interval=1"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--config", nargs="+", default=["properties/cold-start.yaml"])
    parser.add_argument("--output", default="results/cold-start")
    parser.add_argument("--k", type=int, default=20)
    args, extra = parser.parse_known_args(argv)
    overrides = dict(arg[2:].split("=", 1) for arg in extra if arg.startswith("--") and "=" in arg)
    specs = [model_setting(spec) for spec in args.models]
    command = "python run_scripts/cold_start.py " + " ".join(
        ["--dataset", args.dataset, "--data_path", args.data_path, "--models", *args.models,
         "--seeds", *map(str, args.seeds), "--config", *args.config, "--output", args.output]
        + [f"--{k}={v}" for k, v in overrides.items()])
    output, runs_path = prepare_output(f"{args.output}-{args.dataset}")
    config_files = [os.path.join(REPO, path) for path in args.config]
    for seed in args.seeds:
        for spec, (model, settings) in zip(args.models, specs):
            settings = cell_settings(args.data_path, overrides, model, settings)
            fingerprint = cell_setting(config_files, settings, model)
            done = [r for r in read_runs(runs_path) if (r["spec"], r["seed"], r["setting"]) == (spec, seed, fingerprint)]
            if done:
                print(f"  {spec} seed {seed}: done earlier", flush=True)
                continue
            train_cell(runs_path, cell_folder(output, args.dataset, model, seed, fingerprint), f"{spec} seed {seed}",
                       model, args.dataset, seed, config_files, settings, {"spec": spec, "setting": fingerprint},
                       evaluate=evaluator(args.k))
    def current(spec):
        model, own = model_setting(spec)
        return cell_setting(config_files, cell_settings(args.data_path, overrides, model, own), model)

    runs = [r for r in read_runs(runs_path) if r["setting"] == current(r["spec"])]
    text = report(command, runs, args.models, args.seeds, args.k)
    atomic_write_text(f"{output}.md", lambda f: f.write(text))
    print(text)


if __name__ == "__main__":
    main()
