"""recbole_darec.tune: search spaces, trials that report validation only, and Ray Tune sweeps."""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import yaml

from conftest import tiny_config, write_tiny_dataset
from recbole_darec.tune import SearchSpaceError, check_search_space, load_search_space, run_trial, search_loaders
from recbole_darec.tune.space import DEFAULT_SPACE, to_tune_space

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUNE = os.path.join(REPO, "run_scripts", "tune.py")


def write_split_dataset(root, name="tiny", shuffled_test=False):
    r"""tiny.train/valid/test.inter (8/2/2 per user). ``shuffled_test`` gives every test row another
    training item: same users, same item ids, a different test split."""
    folder = write_tiny_dataset(str(root), name=name)[0]
    with open(os.path.join(folder, f"{name}.inter")) as f:
        header, *lines = f.read().splitlines()
    os.remove(os.path.join(folder, f"{name}.inter"))
    by_user = {}
    for line in lines:
        by_user.setdefault(line.split("\t")[0], []).append(line)
    parts = {"train": [], "valid": [], "test": []}
    for rows in by_user.values():
        parts["train"] += rows[:8]
        parts["valid"] += rows[8:10]
        parts["test"] += rows[10:]
    if shuffled_test:
        train_items = sorted({row.split("\t")[1] for row in parts["train"]})
        seen = {}
        for row in parts["train"] + parts["valid"] + parts["test"]:
            seen.setdefault(row.split("\t")[0], set()).add(row.split("\t")[1])
        rng = np.random.default_rng(5)
        shuffled = []
        for row in parts["test"]:
            user, _, time = row.split("\t")
            item = rng.choice([i for i in train_items if i not in seen[user]])
            seen[user].add(item)
            shuffled.append(f"{user}\t{item}\t{time}")
        parts["test"] = shuffled
    for part, rows in parts.items():
        with open(os.path.join(folder, f"{name}.{part}.inter"), "w") as f:
            f.write("\n".join([header] + rows) + "\n")
    return folder, parts


def split_config(root, **overrides):
    settings = {"benchmark_filename": ["train", "valid", "test"], "epochs": 3, "topk": [5], "valid_metric": "NDCG@5",
                **overrides}
    return tiny_config(root, **settings)


# --- search spaces -------------------------------------------------------------------------------

def test_search_space_reads_every_distribution(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("a: {choice: [1, 2]}\nb: {uniform: [0.5, 4]}\nc: {loguniform: [1e-3, 1.0]}\nd: {randint: [2, 9]}\n")
    space = load_search_space(str(path))
    assert space == {"a": ("choice", [1, 2]), "b": ("uniform", [0.5, 4]), "c": ("loguniform", [0.001, 1.0]),
                     "d": ("randint", [2, 9])}
    from ray.tune.search.sample import Categorical, Float, Integer

    tune_space = to_tune_space(space, "random")
    assert isinstance(tune_space["a"], Categorical) and isinstance(tune_space["c"], Float)
    assert isinstance(tune_space["d"], Integer) and tune_space["c"].lower == 0.001


@pytest.mark.parametrize("text, expected", [
    ("lr: 0.1\n", "key 'lr': expected exactly one of choice"),
    ("lr: {normal: [0, 1]}\n", "key 'lr': expected exactly one of choice"),
    ("lr: {choice: []}\n", "key 'lr': choice needs a non-empty list"),
    ("lr: {uniform: [1, 0.5]}\n", "key 'lr': uniform needs low < high"),
    ("lr: {loguniform: [0, 1]}\n", "key 'lr': loguniform needs low > 0"),
    ("lr: {randint: [1, 2.5]}\n", "key 'lr': randint needs two integers"),
    ("lr: {uniform: [a, 2]}\n", "key 'lr': uniform needs [low, high] (two numbers)"),
    ("- 1\n", "expected a mapping of config keys"),
])
def test_search_space_errors_name_file_and_key(tmp_path, text, expected):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(SearchSpaceError) as error:
        load_search_space(str(path))
    assert str(path) in str(error.value) and expected in str(error.value)


def test_grid_search_needs_choices_only():
    space = check_search_space({"a": {"choice": [1, 2]}, "b": {"uniform": [0, 1]}}, "s.yaml")
    with pytest.raises(SearchSpaceError, match=r"s.yaml: grid search needs every key as a choice; not: b \(uniform\)"):
        to_tune_space(space, "grid", source="s.yaml")
    grid = to_tune_space({"a": ("choice", [1, 2])}, "grid")
    assert grid == {"a": {"grid_search": [1, 2]}}


def test_default_space_sweeps_darec_settings():
    space = load_search_space(None)
    with open(os.path.join(REPO, "recbole_darec", "properties", "model", "DaRecRecommender.yaml")) as f:
        darec_keys = set(yaml.safe_load(f))
    assert {"darec_weight", "darec_n_clusters", "darec_sample_size", "darec_hidden_dim"} <= set(space)
    assert set(space) <= darec_keys
    assert DEFAULT_SPACE.endswith(os.path.join("properties", "tune", "darec.yaml"))


# --- one trial, without Ray ----------------------------------------------------------------------

def _spec(root):
    return {"model": "DaRecLightGCN", "dataset": "tiny", "config_files": [], "threads": 1,
            "overrides": split_config(root)}


def test_search_loaders_hold_training_and_validation_only(tmp_path):
    from recbole.config import Config
    from recbole.data import create_dataset

    _, parts = write_split_dataset(tmp_path)
    config = Config(model="DaRecLightGCN", dataset="tiny", config_dict=split_config(tmp_path))
    train, valid = search_loaders(config, create_dataset(config))
    assert len(train._dataset) == len(parts["train"]) and len(valid._dataset) == len(parts["valid"])
    assert valid._sampler.phase == "valid" and valid._sampler.phases == ["train", "valid"]


def test_trial_reports_validation_at_every_step_and_never_reads_the_test_split(tmp_path):
    from recbole.quick_start import run_recbole

    runs = {}
    for variant, shuffled in (("real", False), ("shuffled", True)):
        root = tmp_path / variant
        write_split_dataset(root, shuffled_test=shuffled)
        reports = []
        final = run_trial({"darec_weight": 0.5}, _spec(root), reports.append)
        recbole = run_recbole(model="DaRecLightGCN", dataset="tiny",
                              config_dict={**split_config(root), "darec_weight": 0.5})
        runs[variant] = (reports, final, recbole)
    reports, final, recbole = runs["real"]
    assert [r["epoch"] for r in reports] == [1, 2, 3]  # eval_step 1, 3 epochs
    assert set(reports[0]) >= {"valid_score", "best_valid_score", "valid_ndcg@5", "valid_recall@5", "recbole_stops"}
    assert all(r["valid_score"] == r["valid_ndcg@5"] for r in reports)
    assert [r["recbole_stops"] for r in reports] == [False, False, True]
    # The trial is RecBole's own run minus the test: the same validation, seed for seed.
    assert final["best_valid_score"] == pytest.approx(recbole["best_valid_score"], abs=1e-9)
    assert final["best_valid_ndcg@5"] == pytest.approx(recbole["best_valid_result"]["ndcg@5"], abs=1e-9)
    # Another test split changes RecBole's test result but nothing the trial reports.
    assert runs["shuffled"][2]["test_result"] != recbole["test_result"]
    assert runs["shuffled"][0] == reports and runs["shuffled"][1] == final


# --- sweeps through Ray Tune -----------------------------------------------------------------------

def _sweep(tmp_path, *args, timeout=900, env=None):
    completed = subprocess.run([sys.executable, TUNE, "--model", "DaRecLightGCN", "--dataset", "tiny",
                                "--config", "tiny.yaml", *args], capture_output=True, text=True, timeout=timeout,
                               cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": REPO, **(env or {})})
    return completed


@pytest.fixture
def sweep_folder(tmp_path):
    write_split_dataset(tmp_path)
    # Relative paths on purpose: trials run in Ray's folders, the sweep must resolve them.
    config = split_config(".", epochs=4, checkpoint_dir="saved")
    with open(tmp_path / "tiny.yaml", "w") as f:
        yaml.safe_dump(config, f)
    (tmp_path / "space.yaml").write_text("darec_weight: {loguniform: [0.01, 1.0]}\n"
                                         "darec_n_clusters: {choice: [2, 4]}\n")
    return tmp_path


def test_asha_sweep_writes_trials_best_config_plots_and_one_test_run(sweep_folder):
    completed = _sweep(sweep_folder, "--space", "space.yaml", "--num-samples", "3", "--scheduler", "asha",
                       "--grace-period", "1", "--output", "out")
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = sweep_folder / "out"
    with open(out / "trials.csv") as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 3 and all(t["status"] in ("finished", "stopped early by the scheduler") for t in trials), \
        [(t["trial"], t["status"], t["error"]) for t in trials]
    assert {t["darec_n_clusters"] for t in trials} <= {"2", "4"}
    assert all(0.01 <= float(t["darec_weight"]) <= 1.0 and 1 <= int(t["evaluations"]) <= 4 for t in trials)
    summary = json.loads((out / "best_test.json").read_text())
    best = max(trials, key=lambda t: float(t["best_valid_score"]))
    assert summary["best"]["valid_score"] == pytest.approx(float(best["best_valid_score"]))
    # The selection used validation; the one final run reproduces the best trial's validation score.
    assert summary["final_run"]["best_valid_score"] == pytest.approx(summary["best"]["valid_score"], abs=1e-9)
    assert set(summary["final_run"]["test"]) == {"recall@5", "ndcg@5"}
    best_yaml = yaml.safe_load((out / "best.yaml").read_text())
    assert best_yaml["model"] == "DaRecLightGCN" and best_yaml["dataset"] == "tiny"
    assert best_yaml["darec_weight"] == pytest.approx(float(best["darec_weight"]))
    assert best_yaml["data_path"] == "."  # the user's own (relative) value, not the resolved one
    for key in ("darec_weight", "darec_n_clusters"):
        assert (out / f"sensitivity-{key}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| rank | trial | darec_weight | darec_n_clusters | best valid NDCG@5 |" in completed.stdout
    # A second sweep into the same folder is refused; --resume continues (nothing left to run).
    again = _sweep(sweep_folder, "--space", "space.yaml", "--output", "out")
    assert again.returncode == 2 and "pass --resume" in again.stderr
    resumed = _sweep(sweep_folder, "--space", "space.yaml", "--output", "out", "--resume", "--no-test")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with open(out / "trials.csv") as f:
        assert sorted(t["trial"] for t in csv.DictReader(f)) == sorted(t["trial"] for t in trials)
    # The same best trial: the final test run made before is kept, not dropped by --no-test.
    after = json.loads((out / "best_test.json").read_text())
    assert after.get("final_run") == summary["final_run"], (after, summary)


def test_a_failed_trial_is_reported_and_the_sweep_goes_on(sweep_folder):
    (sweep_folder / "bad.yaml").write_text("darec_activation: {choice: [relu, no_such_activation]}\n")
    completed = _sweep(sweep_folder, "--space", "bad.yaml", "--search", "grid", "--scheduler", "fifo",
                       "--output", "bad", "--no-test")
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(sweep_folder / "bad" / "trials.csv") as f:
        trials = {t["darec_activation"]: t for t in csv.DictReader(f)}
    assert trials["relu"]["status"] == "finished" and trials["relu"]["best_valid_score"]
    assert trials["no_such_activation"]["status"] == "error"
    assert "darec_activation" in trials["no_such_activation"]["error"]
    assert json.loads((sweep_folder / "bad" / "best_test.json").read_text())["failed"] == 1


def test_best_trial_breaks_ties_by_trial_id_whatever_the_order():
    from recbole_darec.tune.sweep import best_trial, summary_table
    rows = [{"trial": t, "best_valid_score": v, "status": "finished", "k": 1, "epochs": 5}
            for t, v in (("b_00002", 0.5), ("a_00001", 0.5), ("c_00003", 0.4), ("d_00004", None))]
    for ordered in (rows, rows[::-1]):
        assert best_trial(ordered, "max")["trial"] == "a_00001"
        assert best_trial(ordered, "min")["trial"] == "c_00003"
        table = summary_table(ordered, ["k"], "NDCG@5", "max").splitlines()
        assert [line.split(" | ")[1] for line in table[2:]] == ["a_00001", "b_00002", "c_00003", "d_00004"]


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ray_head(tmp_path):
    r"""A one-CPU Ray head node of its own (``ray start --block``: terminating it stops its processes),
    standing in for a user's running cluster."""
    import time
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    port = _free_port()
    log = open(tmp_path / "ray-head.log", "w+")
    # A short folder of its own: Ray's socket paths must stay under 107 characters, and its address
    # file must not be left in /tmp/ray for later ray.init() calls to find.
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    head = subprocess.Popen([ray_cli, "start", "--head", f"--port={port}", "--num-cpus=1", "--num-gpus=0",
                             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
                             "--block"],
                            stdout=log, stderr=subprocess.STDOUT,
                            # Ray >= 2.5x turns token authentication on for a cluster `ray start`
                            # makes; this one stands for a user's cluster without it.
                            env={**os.environ, "PYTHONPATH": REPO, "RAY_AUTH_MODE": "disabled"})
    deadline = time.time() + 120
    while "block forever" not in (tmp_path / "ray-head.log").read_text():
        assert head.poll() is None and time.time() < deadline, (tmp_path / "ray-head.log").read_text()[-3000:]
        time.sleep(1)
    yield head, port
    head.terminate()
    head.wait(timeout=120)
    log.close()
    shutil.rmtree(temp_dir, ignore_errors=True)


def test_sweep_joins_a_running_cluster_and_leaves_it_running(sweep_folder, ray_head):
    head, port = ray_head
    completed = _sweep(sweep_folder, "--space", "space.yaml", "--num-samples", "2", "--output", "remote",
                       "--address", f"127.0.0.1:{port}", "--no-test")
    assert completed.returncode == 0, completed.stderr[-3000:]
    # The trials ran on that cluster (its port, its single CPU), not on one the sweep started itself.
    joined = [line for line in completed.stdout.splitlines() if line.startswith("Ray cluster ")]
    assert len(joined) == 1 and f":{port}: 1 CPUs" in joined[0] and "started for this sweep" not in joined[0]
    with open(sweep_folder / "remote" / "trials.csv") as f:
        assert [t["status"] for t in csv.DictReader(f)] == ["finished", "finished"]
    assert head.poll() is None  # the user's cluster outlives the sweep
    # RAY_ADDRESS (Ray's own convention) names the cluster when --address is not given.
    by_env = _sweep(sweep_folder, "--space", "space.yaml", "--num-samples", "1", "--output", "by-env", "--no-test",
                    env={"RAY_ADDRESS": f"127.0.0.1:{port}"})
    assert by_env.returncode == 0, by_env.stderr[-3000:]
    assert f":{port}: 1 CPUs" in by_env.stdout and "started for this sweep" not in by_env.stdout


def test_without_address_a_sweep_starts_its_own_ray_despite_a_stale_cluster_file(sweep_folder):
    # `ray start` leaves <tmp>/ray/ray_current_cluster behind; a bare ray.init() would try to join
    # that dead address and refuse num_cpus. TMPDIR moves Ray's folder to a short one of the test's.
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    try:
        os.makedirs(os.path.join(temp_dir, "ray"))
        with open(os.path.join(temp_dir, "ray", "ray_current_cluster"), "w") as f:
            f.write(f"127.0.0.1:{_free_port()}")
        completed = _sweep(sweep_folder, "--space", "space.yaml", "--num-samples", "1", "--output", "local",
                           "--no-test", env={"TMPDIR": temp_dir, "RAY_ADDRESS": ""})
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "(started for this sweep)" in completed.stdout


@pytest.mark.parametrize("space_text, args, expected", [
    ("not_a_setting: {choice: [1, 2]}\n", [], "['not_a_setting'] are not settings of DaRecLightGCN"),
    ("darec_weight: {uniform: [0.1, 1.0]}\n", ["--search", "grid"], "grid search needs every key as a choice"),
    ("darec_weight: {choice: [0.1]}\n", ["--resume"], "--resume: no sweep to continue"),
])
def test_sweep_input_errors_are_clear_and_start_nothing(sweep_folder, space_text, args, expected):
    (sweep_folder / "s.yaml").write_text(space_text)
    completed = _sweep(sweep_folder, "--space", "s.yaml", "--output", "o", *args, timeout=300)
    assert completed.returncode == 2 and expected in completed.stderr, completed.stderr[-2000:]
    assert not (sweep_folder / "o" / "ray").exists()


def test_missing_config_file_is_named(sweep_folder):
    completed = subprocess.run([sys.executable, TUNE, "--model", "DaRecLightGCN", "--dataset", "tiny",
                                "--config", "nope.yaml"], capture_output=True, text=True, timeout=300,
                               cwd=str(sweep_folder), env={**os.environ, "PYTHONPATH": REPO})
    assert completed.returncode == 2 and "nope.yaml" in completed.stderr



def test_a_sweep_over_seeds_embeds_each_seeds_split_or_says_why_it_cannot():
    from recbole_darec.tune.sweep import split_seeds

    config = {"model": "DaRecLightGCN", "seed": 2020, "benchmark_filename": None,
              "llm_user_vector_file": "dataset/ml-100k/ml-100k.seed{seed}.user_llm.npz"}
    assert split_seeds({}, config, "space.yaml") == [2020]
    assert split_seeds({"seed": ("choice", [1, 2, 1])}, config, "space.yaml") == [1, 2]
    with pytest.raises(SearchSpaceError, match=r"space\.yaml: seed is a randint space; list the seeds as a choice"):
        split_seeds({"seed": ("randint", [1, 9])}, config, "space.yaml")
    shared = dict(config, llm_user_vector_file="dataset/ml-100k/ml-100k.user_llm.npz")
    with pytest.raises(SearchSpaceError, match=r"seed takes 2 values, but config key llm_user_vector_file "
                                               r"\(dataset/ml-100k/ml-100k\.user_llm\.npz\) names one file"):
        split_seeds({"seed": ("choice", [1, 2])}, shared, "space.yaml")
    # no vectors, or one fixed split for every seed: one file serves them all
    assert split_seeds({"seed": ("choice", [1, 2])}, dict(shared, model="LightGCN"), "space.yaml") == []
    assert split_seeds({"seed": ("choice", [1, 2])}, dict(shared, benchmark_filename=["train", "valid", "test"]),
                       "space.yaml") == [2020]
