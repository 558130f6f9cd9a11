r"""Hyperparameter sweeps of RecBole models with Ray Tune: tuned on validation, test touched once.

    python run_scripts/tune.py --model DaRecLightGCN --dataset ml-100k \
        --config properties/ml-100k-demo.yaml [--space space.yaml] [--num-samples 16] \
        [--scheduler asha] [--search random] [--cpus-per-trial 1] [--gpus-per-trial 0.5] \
        [--concurrency 2] [--output sweeps/NAME] [--resume] [--address auto] [--key=value ...]

Every trial trains through RecBole's trainer (:mod:`recbole_darec.tune.trial`) and reports the
validation metrics after each evaluation step, so ASHA stops weak trials early; the test split
is dropped before any loader exists. When the search ends, the best trial's config (highest
best-so-far validation score) is trained once more with RecBole's ``run_recbole``, which is the
only time the test split is read. ``--output`` then holds:

* ``trials.csv``: every trial, its parameters, best validation score, epochs, status and error;
* ``best.yaml``: the config files' settings, the overrides and the best parameters, plus
  ``model`` and ``dataset``: ``run_recbole(config_file_list=['best.yaml'])`` trains it;
* ``best_test.json``: that final run's validation and test results;
* ``sensitivity-<key>.png``: the best validation score of each trial against each swept key;
* ``ray/``: Ray Tune's experiment folder (what ``--resume`` continues).

A failed trial is listed with its error; the sweep goes on without it.
"""

import argparse
import json
import math
import os
import sys
import time

from recbole_darec.files import atomic_write
from recbole_darec.tune.space import SearchSpaceError, load_search_space, read_yaml, to_tune_space

EXPERIMENT = "ray"
STOPPED = "stopped early by the scheduler"
PATH_SUFFIXES = ("_path", "_dir", "_file")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", nargs="*", default=[], metavar="YAML", help="RecBole config files")
    parser.add_argument("--space", default=None, help="search-space yaml (default: DaRec's, properties/tune/darec.yaml)")
    parser.add_argument("--num-samples", type=int, default=None,
                        help="trials (default 8); with --search grid: repeats of the whole grid (default 1)")
    parser.add_argument("--scheduler", choices=["fifo", "asha"], default="asha")
    parser.add_argument("--search", choices=["random", "grid"], default="random")
    parser.add_argument("--grace-period", type=int, default=2,
                        help="ASHA: evaluation steps every trial gets before it may be stopped")
    parser.add_argument("--reduction-factor", type=float, default=2.0, help="ASHA: keep 1/factor of trials per rung")
    parser.add_argument("--cpus-per-trial", type=float, default=1)
    parser.add_argument("--gpus-per-trial", type=float, default=0, help="a fraction shares one GPU between trials")
    parser.add_argument("--concurrency", type=int, default=None, help="most trials at once (default: as resources allow)")
    parser.add_argument("--output", default=None, help="output folder (default: sweeps/<model>-<dataset>)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted sweep in --output")
    parser.add_argument("--address", default=None,
                        help="join a running Ray cluster ('auto' or host:port; default: $RAY_ADDRESS, else a Ray of "
                             "the sweep's own)")
    parser.add_argument("--seed", type=int, default=2020, help="seed of the search algorithm's sampling")
    parser.add_argument("--no-test", action="store_true", help="skip the final test run of the best config")
    args, extra = parser.parse_known_args(argv)
    bad = [arg for arg in extra if not (arg.startswith("--") and "=" in arg)]
    if bad:
        parser.error(f"unrecognised arguments {bad}: RecBole settings are given as --key=value")
    if args.num_samples is None:
        args.num_samples = 1 if args.search == "grid" else 8
    if args.num_samples < 1:
        parser.error("--num-samples must be at least 1")
    if args.cpus_per_trial <= 0 or args.gpus_per_trial < 0:
        parser.error("--cpus-per-trial must be > 0 and --gpus-per-trial >= 0")
    overrides = {}
    for arg in extra:
        key, value = arg[2:].split("=", 1)
        overrides[key] = _parse_value(value)
    return args, overrides


def _parse_value(text):
    import yaml

    from recbole_darec.tune.space import _recbole_yaml_loader

    return yaml.load(text, Loader=_recbole_yaml_loader())


def _absolute(value, base):
    return value if os.path.isabs(value) else os.path.normpath(os.path.join(base, value))


def resolve_paths(model, dataset, config_files, overrides, cwd):
    r"""The overrides a trial needs wherever it runs: RecBole's final config, built here, with every
    relative path (keys ending in _path, _dir, _file; and data_path) made absolute against ``cwd``.

    Ray runs trials in their own folders (and on other machines); a relative path in a yaml file
    would be read against the wrong directory. Building the config here also stops a sweep with a
    bad model name, dataset or key before any trial starts."""
    from recbole.config import Config

    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        config = Config(model=model, dataset=dataset, config_file_list=config_files, config_dict=dict(overrides))
    finally:
        sys.argv = argv
    resolved = dict(overrides)
    for key, value in config.final_config_dict.items():
        if key.endswith(PATH_SUFFIXES) and isinstance(value, str) and value and key != "data_path":
            resolved[key] = _absolute(value, cwd)
    # RecBole appends the dataset's name to data_path (except for its bundled ml-100k).
    resolved["data_path"] = os.path.dirname(_absolute(config["data_path"].rstrip("/"), cwd))
    return config, resolved


def rank_key(mode):
    r"""Best score first; ties go to the lowest trial id, so a resumed sweep (whose trials Ray may
    list in another order) ranks and selects as before."""
    sign = -1 if mode == "max" else 1
    return lambda row: (sign * row["best_valid_score"], str(row["trial"]))


def best_trial(rows, mode):
    finished = [r for r in rows if r["best_valid_score"] is not None and not math.isnan(r["best_valid_score"])]
    if not finished:
        return None
    return min(finished, key=rank_key(mode))


def trial_rows(results, keys, mode):
    r"""One row per trial: its parameters, best validation score (over all its reports), status."""
    rows = []
    for result in results:
        history = result.metrics_dataframe
        scores = [] if history is None or "valid_score" not in history else list(history["valid_score"])
        best = (max if mode == "max" else min)(scores) if scores else None
        last = result.metrics or {}
        if result.error is not None:
            status = "error"
        elif last.get("recbole_stops"):
            status = "finished"  # RecBole's early stopping, or its last epoch
        else:
            status = STOPPED
        row = {"trial": last.get("trial_id") or os.path.basename(str(result.path)),
               **{key: result.config.get(key) for key in keys},
               "best_valid_score": best, "evaluations": len(scores),
               "epochs": int(last["epoch"]) if "epoch" in last else 0, "status": status,
               "error": "" if result.error is None else str(result.error).strip().splitlines()[-1][:300]}
        rows.append(row)
    return rows


def write_csv_atomic(path, rows):
    import csv
    import io

    fields = []
    for row in rows:
        fields += [key for key in row if key not in fields]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())


def write_text_atomic(path, text):
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def best_yaml_text(model, dataset, config_files, overrides, params, header):
    r"""One yaml with the config files' settings, then the overrides, then the best parameters."""
    import yaml

    settings = {}
    for path in config_files:
        settings.update(read_yaml(path, what="config file"))
    settings.update(overrides)
    settings.update({key: _plain(value) for key, value in params.items()})
    settings.update({"model": model, "dataset": dataset})
    body = yaml.safe_dump({k: _plain(v) for k, v in settings.items()}, sort_keys=False, default_flow_style=None)
    return "".join(f"# {line}\n" for line in header) + body


def _plain(value):
    r"""numpy scalars (Ray's samples) as plain Python values, so yaml writes them readably."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        return value.item()
    return value


def plot_sensitivity(rows, space, metric_name, folder):
    r"""``sensitivity-<key>.png`` per swept key: each trial's best validation score against the key.
    Trials the scheduler stopped are drawn hollow (their score is from fewer epochs); the line joins
    the mean of the trials that trained to the end at each value of a choice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r["best_valid_score"] is not None]
    paths = []
    for key, (kind, args) in space.items():
        figure, axes = plt.subplots(figsize=(4.5, 3.2))
        values = [r[key] for r in done]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        levels = [str(v) for v in args] if not numeric else None

        def position(value):
            return value if numeric else levels.index(str(value))

        for stopped, style in ((False, {"color": "tab:blue", "label": "trained to the end"}),
                               (True, {"facecolors": "none", "edgecolors": "tab:blue",
                                       "label": "stopped early by the scheduler"})):
            group = [r for r in done if (r["status"] == STOPPED) == stopped]
            if group:
                axes.scatter([position(r[key]) for r in group], [r["best_valid_score"] for r in group],
                             zorder=3, **style)
        full = [r for r in done if r["status"] != STOPPED]
        if kind == "choice" and full:
            means = {}
            for r in full:
                means.setdefault(position(r[key]), []).append(r["best_valid_score"])
            xs = sorted(means)
            axes.plot(xs, [sum(means[x]) / len(means[x]) for x in xs], color="tab:orange",
                      label="mean of those trained to the end")
        if numeric and (kind == "loguniform" or (kind == "choice" and values and min(values) > 0
                                                 and max(values) / min(values) >= 16)):
            axes.set_xscale("log")
        if not numeric:
            axes.set_xticks(range(len(levels)), levels)
        axes.legend(fontsize=7)
        axes.set_xlabel(key)
        axes.set_ylabel(f"best valid {metric_name}")
        axes.grid(alpha=0.3)
        figure.tight_layout()
        path = os.path.join(folder, f"sensitivity-{key}.png")
        atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=110))
        plt.close(figure)
        paths.append(path)
    return paths


def summary_table(rows, keys, metric_name, mode, limit=20):
    ranked = sorted((r for r in rows if r["best_valid_score"] is not None), key=rank_key(mode))
    ranked += [r for r in rows if r["best_valid_score"] is None]
    lines = ["| rank | trial | " + " | ".join(keys) + f" | best valid {metric_name} | epochs | status |",
             "|---" * (len(keys) + 5) + "|"]
    for rank, row in enumerate(ranked[:limit], 1):
        values = [f"{row[k]:.4g}" if isinstance(row[k], float) else str(row[k]) for k in keys]
        score = "" if row["best_valid_score"] is None else f"{row['best_valid_score']:.4f}"
        lines.append(f"| {rank} | {row['trial']} | " + " | ".join(values) + f" | {score} | {row['epochs']} | {row['status']} |")
    if len(ranked) > limit:
        lines.append(f"({len(ranked) - limit} more in trials.csv)")
    return "\n".join(lines)


def evaluate_best(best_yaml, cwd):
    r"""Train the best config once with RecBole's ``run_recbole``: the only read of the test split."""
    from recbole.quick_start import run_recbole

    argv, sys.argv = sys.argv, sys.argv[:1]
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return run_recbole(config_file_list=[best_yaml], config_dict={"state": "WARNING", "show_progress": False})
    finally:
        os.chdir(here)
        sys.argv = argv


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}



def split_seeds(space, config, source):
    r"""The seeds whose splits the trials train on: the config's, or each of a ``choice`` of seeds
    in the search space. Each needs its own user vectors (for a model that reads them, on a random
    split), so a seed drawn from a range is refused, and so are several seeds sharing one
    user-vector file."""
    from recbole_darec.experiments.vectors import reads_llm_vectors

    if "seed" not in space:
        return [config["seed"]]
    kind, values = space["seed"]
    if not reads_llm_vectors(config["model"]):
        return []
    if config["benchmark_filename"]:
        return [config["seed"]]  # one fixed split, whatever the seed
    if kind != "choice":
        raise SearchSpaceError(f"{source}: seed is a {kind} space; list the seeds as a choice, so that "
                               f"each seed's user vectors can be embedded for its split before the trials")
    user_file = str(config["llm_user_vector_file"] or "")
    if len(set(values)) > 1 and "{seed}" not in user_file:
        raise SearchSpaceError(f"{source}: seed takes {len(set(values))} values, but config key "
                               f"llm_user_vector_file ({user_file or 'the default'}) names one file for "
                               f"all of them; put {{seed}} in it, e.g. dataset/<name>/<name>.seed{{seed}}.user_llm.npz, "
                               f"so that each seed trains on vectors of its own split (docs/embedding.md)")
    return list(dict.fromkeys(values))


def run_sweep(args, overrides):
    import recbole_darec  # noqa: F401
    import ray
    from ray import tune
    from ray.tune import FailureConfig, RunConfig
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import BasicVariantGenerator

    from recbole_darec.tune.trial import ray_trainable

    cwd = os.getcwd()
    output = os.path.abspath(args.output or os.path.join("sweeps", f"{args.model}-{args.dataset}"))
    space_path = os.path.abspath(args.space) if args.space else None
    space = load_search_space(space_path)
    config_files = [_absolute(path, cwd) for path in args.config]
    missing = [path for path in config_files if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(f"--config: file(s) not found: {', '.join(missing)}")
    experiment = os.path.join(output, EXPERIMENT)
    if args.resume and not os.path.isdir(experiment):
        raise FileNotFoundError(f"--resume: no sweep to continue in {experiment}")
    if not args.resume and os.path.isdir(experiment):
        raise FileExistsError(f"{experiment} holds an earlier sweep: pass --resume to continue it, "
                              f"or choose another --output")
    param_space = to_tune_space(space, args.search, source=space_path or "the default DaRec space")
    config, resolved = resolve_paths(args.model, args.dataset, config_files, overrides, cwd)
    # Every trial and the final run train on their seed's split: embed its user vectors first
    # (a no-op when up to date; only for datasets whose vectors we encode, docs/embedding.md).
    from recbole_darec.experiments.vectors import ensure_split_vectors

    for seed in split_seeds(space, config, space_path or "search space"):
        ensure_split_vectors(args.dataset, args.model, config_files, seed, overrides, cwd=cwd)
    unknown = [key for key in space if key not in config.final_config_dict]
    if unknown:
        raise SearchSpaceError(f"{space_path or 'search space'}: key(s) {unknown} are not settings of "
                               f"{args.model} (not in its yaml, the config files or RecBole's defaults)")
    metric_name = config["valid_metric"]
    mode = "max" if config["valid_metric_bigger"] else "min"
    spec = {"model": args.model, "dataset": args.dataset, "config_files": config_files, "overrides": resolved,
            "threads": max(1, int(args.cpus_per_trial))}
    max_reports = max(1, config["epochs"] // max(1, config["eval_step"]))
    if args.scheduler == "asha":
        scheduler = ASHAScheduler(time_attr="training_iteration", max_t=max_reports,
                                  grace_period=min(args.grace_period, max_reports),
                                  reduction_factor=args.reduction_factor)
    else:
        scheduler = FIFOScheduler()
    os.makedirs(output, exist_ok=True)
    # Ray's convention: RAY_ADDRESS names the cluster to join. Otherwise "local" starts a Ray of
    # its own; ray.init() alone would join whatever cluster a `ray start` left on this machine
    # (even a dead one's address file) and then refuse num_cpus.
    address = args.address or os.environ.get("RAY_ADDRESS") or None
    ray.init(address=address or "local", include_dashboard=False, ignore_reinit_error=True,
             log_to_driver=False, **({} if address else {"num_cpus": os.cpu_count()}))
    cluster = ray.cluster_resources()
    print(f"Ray cluster {ray.get_runtime_context().gcs_address}: {int(cluster.get('CPU', 0))} CPUs, "
          f"{cluster.get('GPU', 0):g} GPUs, {len(ray.nodes())} node(s)"
          + ("" if address else " (started for this sweep)"), flush=True)
    trainable = tune.with_resources(tune.with_parameters(ray_trainable, spec=spec),
                                    {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial})
    start = time.perf_counter()
    if args.resume:
        tuner = tune.Tuner.restore(experiment, trainable=trainable, resume_unfinished=True, restart_errored=False)
    else:
        tuner = tune.Tuner(
            trainable, param_space=param_space,
            tune_config=tune.TuneConfig(metric="valid_score", mode=mode, scheduler=scheduler,
                                        search_alg=BasicVariantGenerator(random_state=args.seed),
                                        num_samples=args.num_samples, max_concurrent_trials=args.concurrency),
            run_config=RunConfig(name=EXPERIMENT, storage_path=output, failure_config=FailureConfig(max_failures=0),
                                 verbose=0))
    results = tuner.fit()
    seconds = time.perf_counter() - start
    keys = list(space)
    rows = trial_rows(results, keys, mode)
    write_csv_atomic(os.path.join(output, "trials.csv"), rows)
    plots = plot_sensitivity(rows, space, metric_name, output)
    print(f"\n{len(rows)} trials of {args.model} on {args.dataset} in {seconds:.0f} s, "
          f"ranked by best validation {metric_name}:\n")
    print(summary_table(rows, keys, metric_name, mode))
    best = best_trial(rows, mode)
    summary = {"model": args.model, "dataset": args.dataset, "metric": f"valid {metric_name}", "mode": mode,
               "trials": len(rows), "failed": sum(r["status"] == "error" for r in rows),
               "sweep_seconds": seconds, "best": None}
    if best is None:
        print("\nno trial finished an evaluation: nothing to select (see the errors in trials.csv)")
    else:
        params = {key: best[key] for key in keys}
        header = [f"Best of {len(rows)} trials ({best['trial']}): valid {metric_name} {best['best_valid_score']:.4f}.",
                  f"Made by recbole_darec.tune from {cwd}; relative paths below are relative to it.",
                  "Train it: run_recbole(config_file_list=['best.yaml'])"]
        best_yaml = os.path.join(output, "best.yaml")
        write_text_atomic(best_yaml, best_yaml_text(args.model, args.dataset, config_files, overrides, params, header))
        summary["best"] = {"trial": best["trial"], "params": {k: _plain(v) for k, v in params.items()},
                           "valid_score": best["best_valid_score"]}
        print(f"\nbest: {params} (valid {metric_name} {best['best_valid_score']:.4f}) -> {best_yaml}")
        earlier = _read_json(os.path.join(output, "best_test.json"))
        if args.no_test and (earlier.get("best") or {}).get("trial") == best["trial"] and "final_run" in earlier:
            summary["final_run"] = earlier["final_run"]  # a resumed sweep that chose the same trial keeps its test
        elif not args.no_test:
            final = evaluate_best(best_yaml, cwd)
            summary["final_run"] = {"best_valid_score": float(final["best_valid_score"]),
                                    "valid": {k: float(v) for k, v in final["best_valid_result"].items()},
                                    "test": {k: float(v) for k, v in final["test_result"].items()}}
            print("test (once, best config): " + ", ".join(f"{k} {v:.4f}" for k, v in final["test_result"].items()))
    write_text_atomic(os.path.join(output, "best_test.json"), json.dumps(summary, indent=2) + "\n")
    print(f"written: {output}/trials.csv, best.yaml, best_test.json, " + ", ".join(os.path.basename(p) for p in plots))
    return summary


def main(argv=None):
    args, overrides = parse_args(argv)
    try:
        run_sweep(args, overrides)
    except (SearchSpaceError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
