"""run_scripts/reproduce.py: a 1-epoch smoke of the grid runner, its resume and its tables."""

import csv
import os
import subprocess
import sys

import yaml

from conftest import tiny_config, write_tiny_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(root, *argv):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "run_scripts", "reproduce.py"), *argv],
        capture_output=True, text=True, timeout=600, cwd=str(root), env={**os.environ, "PYTHONPATH": REPO},
    )


def test_grid_runs_each_cell_once_compares_with_published_numbers_and_darec_gains(tmp_path):
    # A tiny dataset that happens to be called 'yelp', so the published-number column appears.
    write_tiny_dataset(str(tmp_path), name="yelp")
    config = os.path.join(str(tmp_path), "tiny.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(tiny_config(tmp_path, topk=[20], valid_metric="NDCG@20"), f)
    output = os.path.join(str(tmp_path), "results", "smoke")
    argv = ["--models", "LightGCN", "DaRecLightGCN", "--datasets", "yelp", "--config", f"yelp={config}",
            "--output", output, "--epochs=1"]
    first = _run(tmp_path, *argv, "--seeds", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    second = _run(tmp_path, *argv, "--seeds", "1", "2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("done earlier") == 2  # seed 1 of both models is not re-run
    with open(output + ".runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert sorted((r["model"], r["seed"]) for r in runs) == [
        ("DaRecLightGCN", "1"), ("DaRecLightGCN", "2"), ("LightGCN", "1"), ("LightGCN", "2")]
    report = open(output + ".md").read()
    assert "Command: `python run_scripts/reproduce.py --models LightGCN DaRecLightGCN" in report
    assert "| LightGCN | 2 |" in report and "| DaRecLightGCN | 2 |" in report
    assert "/ 0.1157 / " in report  # RLMRec's published LightGCN R@20 on yelp, beside ours
    assert "- DaRecLightGCN vs LightGCN: recall@20" in report
    with open(output + ".csv") as f:
        summary = {row["model"]: row for row in csv.DictReader(f)}
    assert summary["LightGCN"]["runs"] == "2" and "recall@20_mean" in summary["LightGCN"]


def test_a_changed_setting_is_run_again(tmp_path):
    write_tiny_dataset(str(tmp_path))
    config = os.path.join(str(tmp_path), "tiny.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(tiny_config(tmp_path), f)
    output = os.path.join(str(tmp_path), "results", "smoke")
    argv = ["--models", "LightGCN", "--datasets", "tiny", "--config", f"tiny={config}", "--output", output,
            "--seeds", "1"]
    assert _run(tmp_path, *argv, "--epochs=1").returncode == 0
    again = _run(tmp_path, *argv, "--epochs=2")
    assert again.returncode == 0 and "done earlier" not in again.stdout


def test_bad_arguments_are_refused():
    completed = _run(REPO, "--models", "LightGCN", "--datasets", "x", "--output", "results/x", "stray")
    assert completed.returncode == 2 and "--key=value" in completed.stderr


def test_mask_effect_tests_one_checkpoint_under_both_rules(tmp_path):
    from test_datasets import write_rlmrec

    from recbole_darec.datasets import import_rlmrec

    write_rlmrec(str(tmp_path / "src"))
    import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "dataset"))
    completed = subprocess.run(
        [sys.executable, os.path.join(REPO, "run_scripts", "mask_effect.py"), "--dataset", "toy",
         f"--data_path={tmp_path / 'dataset'}", "--epochs=1", "--topk=[5]", "--valid_metric=Recall@5"],
        capture_output=True, text=True, timeout=600, cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": REPO})
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "| RLMRec's rule (train items masked) | 1 |" in completed.stdout
    assert "| RecBole's rule (train + valid masked) | 1 |" in completed.stdout
