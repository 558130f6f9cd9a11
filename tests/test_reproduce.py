"""run_scripts/reproduce.py: a 1-epoch smoke of the grid runner, its resume and its tables."""

import csv
import os
import subprocess
import sys

import pytest
import yaml

from conftest import tiny_config, write_tiny_dataset
from recbole_darec.experiments import cell
from recbole_darec.experiments import runs as runs_files
from helpers import build

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
    assert {(r["epochs"], r["best_epoch"]) for r in runs} == {("1", "1")}
    report = open(output + ".md").read()
    assert "| 1 (1) |" in report  # epochs trained (best at)
    assert "Command: `python run_scripts/reproduce.py --models LightGCN DaRecLightGCN" in report
    assert "| LightGCN | 2 |" in report and "| DaRecLightGCN | 2 |" in report
    assert "/ 0.1157 / " in report  # RLMRec's published LightGCN R@20 on yelp, beside ours
    assert "- DaRecLightGCN vs LightGCN: recall@20" in report
    with open(output + ".csv") as f:
        summary = {row["model"]: row for row in csv.DictReader(f)}
    assert summary["LightGCN"]["runs"] == "2" and "recall@20_mean" in summary["LightGCN"]


def test_each_run_records_epochs_trained_and_the_best_validation_epoch(tmp_path):
    from recbole.trainer import Trainer

    write_tiny_dataset(str(tmp_path))
    config = os.path.join(str(tmp_path), "tiny.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(tiny_config(tmp_path, epochs=6, eval_step=2), f)
    originals = Trainer._train_epoch, Trainer._valid_epoch
    scores = []
    valid_epoch = Trainer._valid_epoch

    def record(self, *args, **kwargs):
        score, result = valid_epoch(self, *args, **kwargs)
        scores.append(score)
        return score, result

    Trainer._valid_epoch = record
    try:
        row = cell.train_run("LightGCN", "tiny", 7, [config], {})
    finally:
        Trainer._valid_epoch = valid_epoch
    assert row["epochs"] == 6 and len(scores) == 3  # validated after epochs 2, 4 and 6
    tested = len(scores) - 1 - scores[::-1].index(max(scores))  # RecBole keeps the last of equal scores
    assert row["best_epoch"] == 2 * (tested + 1)
    assert row["best_valid"] == max(scores)
    assert (Trainer._train_epoch, Trainer._valid_epoch) == originals  # the patch is undone


def test_the_demo_prints_one_line_per_validation(tmp_path, capsys):
    write_tiny_dataset(str(tmp_path))
    config = os.path.join(str(tmp_path), "tiny.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(tiny_config(tmp_path, epochs=6, eval_step=2), f)
    row = cell.train_run("LightGCN", "tiny", 7, [config], {}, progress=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if "valid ndcg@5" in line]
    assert [line.split(",")[0].strip() for line in lines] == [f"LightGCN seed 7: epoch {e}" for e in (2, 4, 6)]
    assert lines[-1].endswith(f"(best {row['best_valid']:.4f} at epoch {row['best_epoch']})")
    cell.train_run("LightGCN", "tiny", 7, [config], {})  # grids stay quiet
    assert "valid ndcg@5" not in capsys.readouterr().out


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
    completed = _run(REPO, "--models", "LightGCN", "DaRecLightGNC", "--datasets", "x", "--output", "results/x")
    assert completed.returncode == 2 and "--models 'DaRecLightGNC'" in completed.stderr
    assert "did you mean 'DaRecLightGCN'" in completed.stderr


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


def _load_reproduce():
    from recbole_darec.experiments import reproduce

    return reproduce


def test_a_run_is_appended_to_what_another_invocation_wrote(tmp_path):
    path = str(tmp_path / "grid.runs.csv")
    theirs = {"model": "LightGCN", "dataset": "yelp", "setting": "a", "seed": 1, "recall@20": 0.1}
    runs_files.write_runs(path, [theirs])  # written by a parallel invocation after this one started
    mine = {"model": "LightGCN", "dataset": "amazon-book", "setting": "b", "seed": 1, "recall@20": 0.2}
    assert runs_files.append_run(path, mine) == [theirs, mine]
    assert runs_files.read_runs(path) == [theirs, mine]


def test_each_cell_reads_its_backbones_setting_and_a_missing_one_is_named(tmp_path, capsys):
    import pytest

    reproduce = _load_reproduce()
    (tmp_path / "yelp").mkdir()
    (tmp_path / "yelp" / "LightGCN.yaml").write_text("n_layers: 3\n")
    pattern = str(tmp_path / "{dataset}" / "{backbone}.yaml")
    args, _ = reproduce.parse_args(["--models", "LightGCN", "DaRecLightGCN", "--datasets", "yelp",
                                    "--output", "x", "--config", f"yelp={pattern}"])
    assert reproduce.config_files(args, "yelp", "DaRecLightGCN") == [str(tmp_path / "yelp" / "LightGCN.yaml")]
    with pytest.raises(SystemExit):
        reproduce.parse_args(["--models", "SGL", "--datasets", "yelp", "--output", "x",
                              "--config", f"yelp={pattern}"])
    assert "yelp/SGL.yaml" in capsys.readouterr().err


def _finished_lightgcn_runs_on_yelp(tmp_path, recalls):
    r"""A config file, an output path and its runs file holding LightGCN runs (seed i+1: recalls[i])."""
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 1\n")
    output = str(tmp_path / "grid")
    reproduce = _load_reproduce()
    setting = runs_files.setting_fingerprint([str(config)], {})
    runs_files.write_runs(output + ".runs.csv", [
        {"model": "LightGCN", "dataset": "yelp", "setting": setting, "seed": seed, "recall@20": value,
         "ndcg@20": value / 2, "best_valid": value, "seconds": 1.0} for seed, value in enumerate(recalls, 1)])
    return reproduce, config, output, setting


def test_report_only_tables_the_finished_runs_and_trains_nothing(tmp_path):
    _, config, output, _ = _finished_lightgcn_runs_on_yelp(tmp_path, [0.10, 0.12])
    completed = _run(tmp_path, "--models", "LightGCN", "SGL", "--datasets", "yelp", "--config", f"yelp={config}",
                     "--output", output, "--seeds", "1", "2", "3", "--report-only")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "| LightGCN | 2 | 0.1100 ± 0.0141 |" in open(output + ".md").read()
    assert "SGL |" not in open(output + ".md").read()


def test_rlmrec_backbone_settings_use_keys_the_models_read():
    import glob

    from recbole.utils import get_model

    import recbole_darec  # noqa: F401  (registers SimGCL)
    from recbole_darec.registry import model_defaults

    files = glob.glob(os.path.join(REPO, "properties", "rlmrec", "*", "*.yaml"))
    assert {os.path.basename(os.path.dirname(f)) for f in files} == {"amazon-book", "yelp", "steam"}
    files += glob.glob(os.path.join(REPO, "properties", "ml-100k", "*.yaml"))
    for path in files:
        known = model_defaults(get_model(os.path.basename(path)[:-5]))  # the yaml of every class in its MRO
        unknown = set(yaml.safe_load(open(path))) - set(known)
        assert not unknown, f"{path}: keys no default declares: {unknown}"


def test_rlmrec_simgcl_settings_select_rlmrecs_loss_terms(tiny):
    # Without these two keys our SimGCL stops at -6.7% of RLMRec's Yelp number (docs/datasets.md).
    for dataset in ("amazon-book", "yelp", "steam"):
        path = os.path.join(REPO, "properties", "rlmrec", dataset, "SimGCL.yaml")
        _, _, _, model = build(tiny, "SimGCL", **yaml.safe_load(open(path)))
        assert (model.reg_scope, model.cl_negatives) == ("tables", "all"), path


def test_a_cell_finished_twice_counts_once():
    rows = [{"seed": 1, "recall@20": 0.1}, {"seed": 2, "recall@20": 0.2}, {"seed": 1, "recall@20": 0.3}]
    assert runs_files.one_per_seed(rows) == rows[:2]


def test_rlmrecs_lightgcn_reads_lightgcns_setting_and_faces_its_published_row():
    from recbole_darec.experiments import reproduce

    assert [reproduce.backbone(m) for m in ("RLMRecLightGCN", "DaRecSGL", "SGLCon", "LightGCN")] == [
        "LightGCN", "SGL", "SGL", "LightGCN"]
    assert reproduce.published_row("RLMRecLightGCN") == "LightGCN"
    assert (reproduce.backbone("RLMRecSGL"), reproduce.published_row("RLMRecSGL")) == ("SGL", "SGL")
    assert reproduce.published_row("DaRecLightGCN") == "DaRecLightGCN"  # never faces LightGCN's number
    assert {"RLMRecLightGCN", "RLMRecSGL"} <= set(reproduce.GRIDS["published"]["models"])


class Interrupted(Exception):
    pass


def _grid_in_process(tmp_path, monkeypatch, output, interrupt_at=None):
    from recbole_darec.experiments import reproduce
    from recbole.trainer import Trainer

    train_epoch = getattr(Trainer._train_epoch, "unpatched", Trainer._train_epoch)

    def interrupted(self, train_data, epoch_idx, *args, **kwargs):
        if epoch_idx == interrupt_at:
            raise Interrupted
        return train_epoch(self, train_data, epoch_idx, *args, **kwargs)

    interrupted.unpatched = train_epoch
    monkeypatch.setattr(Trainer, "_train_epoch", interrupted)
    config = os.path.join(str(tmp_path), "tiny.yaml")
    reproduce.main(["--models", "DaRecLightGCN", "--datasets", "tiny", "--config", f"tiny={config}",
                    "--output", output, "--seeds", "1", "--epochs=6", "--stopping_step=100"])
    with open(output + ".runs.csv") as f:
        return list(csv.DictReader(f))


def test_an_interrupted_grid_continues_its_unfinished_run_to_the_same_result(tmp_path, monkeypatch):
    write_tiny_dataset(str(tmp_path))
    with open(os.path.join(str(tmp_path), "tiny.yaml"), "w") as f:
        yaml.safe_dump(tiny_config(tmp_path), f)
    whole = _grid_in_process(tmp_path, monkeypatch, str(tmp_path / "whole"))[0]

    output = str(tmp_path / "parts")
    with pytest.raises(Interrupted):
        _grid_in_process(tmp_path, monkeypatch, output, interrupt_at=3)
    cells = os.listdir(output + ".resume")
    assert len(cells) == 1 and "run.resume" in os.listdir(os.path.join(output + ".resume", cells[0]))

    resumed = _grid_in_process(tmp_path, monkeypatch, output)[0]
    assert resumed["resumed_after_epoch"] == "3" and "resumed_after_epoch" not in whole
    for key in ("recall@5", "ndcg@5", "best_valid", "epochs", "best_epoch", "setting"):
        assert resumed[key] == whole[key], key
    assert not os.path.exists(output + ".resume")  # the row is in: nothing left to resume


def test_a_cell_another_invocation_holds_is_skipped(tmp_path):

    folder = runs_files.cell_folder(str(tmp_path / "grid"), "tiny", "LightGCN", 1, "abc")
    with runs_files.claimed(folder) as first:
        with runs_files.claimed(folder) as second:
            assert (first, second) == (True, False)
            runs = cell.train_cell(str(tmp_path / "grid.runs.csv"), folder, "cell", "LightGCN", "tiny", 1,
                                        [], {}, {})
    assert runs is None and not os.path.exists(tmp_path / "grid.runs.csv")
    with runs_files.claimed(folder) as again:
        assert again  # released when its holder is done


def test_a_cell_finished_between_the_look_and_the_claim_is_not_trained_again(tmp_path, monkeypatch):

    runs_path = str(tmp_path / "grid.runs.csv")
    bookkeeping = {"dataset": "tiny", "setting": "abc"}
    runs_files.append_run(runs_path, {**bookkeeping, "model": "LightGCN", "seed": 1, "recall@20": 0.1})
    trained = []
    monkeypatch.setattr(cell, "train_run", lambda model, dataset, seed, *rest, **kwargs: trained.append(seed) or
                        {"model": model, "seed": seed, "recall@20": 0.2})
    folder = runs_files.cell_folder(str(tmp_path / "grid"), "tiny", "LightGCN", 1, "abc")
    assert cell.train_cell(runs_path, folder, "cell", "LightGCN", "tiny", 1, [], {}, bookkeeping) is None
    assert trained == [] and len(runs_files.read_runs(runs_path)) == 1
    # another seed of the same setting is still trained
    runs = cell.train_cell(runs_path, folder, "cell", "LightGCN", "tiny", 2, [], {}, bookkeeping)
    assert len(trained) == 1 and [r["seed"] for r in runs] == [1, 2]


def test_an_invocation_whose_every_cell_another_holds_still_writes_its_report(tmp_path):
    reproduce, config, output, setting = _finished_lightgcn_runs_on_yelp(tmp_path, [0.10])
    with runs_files.claimed(runs_files.cell_folder(output, "yelp", "LightGCN", 2, setting)) as held:
        assert held
        completed = _run(tmp_path, "--models", "LightGCN", "--datasets", "yelp", "--config", f"yelp={config}",
                         "--output", output, "--seeds", "1", "2")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "LightGCN on yelp seed 2: another invocation is training it, skipped" in completed.stdout
    assert "| LightGCN | 1 | 0.1000 |" in open(output + ".md").read()


def test_each_seed_embeds_its_own_split_before_an_aligned_run_and_only_then(monkeypatch):
    from recbole_darec.experiments import vectors

    commands = []
    monkeypatch.setattr(vectors.subprocess, "run", lambda command, **kwargs: commands.append(command))
    monkeypatch.setattr(vectors, "_ENSURED", set())
    demo_yaml = ["ml-100k-demo.yaml"]

    assert not vectors.ensure_split_vectors("ml-100k", "LightGCN", demo_yaml, 1)  # reads no vectors
    assert not vectors.ensure_split_vectors("steam", "DaRecSGL", ["steam.yaml"], 1)  # vectors from its builder
    assert commands == []

    assert vectors.ensure_split_vectors("ml-100k", "SimGCLCon", demo_yaml, 2, {"darec_interval": 10})
    (command,) = commands
    assert command[1:] == ["-m", "recbole_darec.embed", "--dataset", "ml-100k", "--config_files",
                           "ml-100k-demo.yaml", "--darec_interval=10", "--seed=2"]
    vectors.ensure_split_vectors("ml-100k", "DaRecLightGCN", demo_yaml, 2, {"darec_interval": 10})
    assert len(commands) == 1  # the same split in this process: not asked again
    vectors.ensure_split_vectors("ml-100k", "DaRecLightGCN", demo_yaml, 3, {"darec_interval": 10})
    assert commands[-1][-1] == "--seed=3"  # every seed its own split


def test_base_models_fingerprint_ignores_the_vector_keys_they_never_read(tmp_path):
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    before.write_text("epochs: 5\nllm_user_vector_file: a.npz\n")
    after.write_text("epochs: 5\nllm_user_vector_file: a.seed{seed}.npz\n")
    assert runs_files.setting_fingerprint([str(before)], {}, reads_vectors=False) == \
        runs_files.setting_fingerprint([str(after)], {}, reads_vectors=False)
    assert runs_files.setting_fingerprint([str(before)], {}) != runs_files.setting_fingerprint([str(after)], {})
    assert runs_files.setting_fingerprint([str(before)], {"llm_shuffle_seed": 0}, reads_vectors=False) == \
        runs_files.setting_fingerprint([str(before)], {}, reads_vectors=False)
    # an indented llm_ line is part of another key's value, which the model does read
    nested = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    nested[0].write_text("load_col:\n  inter: [user_id]\n  llm_useremb: [uid]\n")
    nested[1].write_text("load_col:\n  inter: [user_id]\n")
    assert len({runs_files.setting_fingerprint([str(p)], {}, reads_vectors=False) for p in nested}) == 2


def test_a_seed_re_embedded_during_the_grid_is_trained_again_not_taken_from_a_stale_digest(tmp_path, monkeypatch):
    # The report written after seed 1 hashes seed 2's files before seed 2 is embedded; the
    # done-check of seed 2 must use the files as they are after its embed.
    reproduce = _load_reproduce()
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 1\n")
    output = str(tmp_path / "grid")
    generation = {"now": "old"}
    embedded = set()
    trained = []

    def digest(model, dataset, config_files, seed, settings=None):
        return generation["now"] if seed in embedded or generation["now"] == "old" else "old"

    def ensure(dataset, model, config_files, seed, settings=None, *rest, **kwargs):
        embedded.add(seed)
        return True

    def train(model, dataset, seed, *rest, **kwargs):
        trained.append((generation["now"], seed))
        return {"model": model, "seed": seed, "recall@20": 0.1, "ndcg@20": 0.05, "best_valid": 0.1,
                "seconds": 1.0, "vectors": digest(model, dataset, [], seed)}

    monkeypatch.setattr(reproduce, "vectors_digest", digest)
    monkeypatch.setattr(reproduce, "ensure_split_vectors", ensure)
    monkeypatch.setattr(cell, "train_run", train)
    argv = ["--models", "DaRecLightGCN", "--datasets", "yelp", "--config", f"yelp={config}", "--output", output,
            "--seeds", "1", "2"]
    reproduce.main(argv)
    assert trained == [("old", 1), ("old", 2)]

    generation["now"], embedded = "new", set()  # another encoder: every seed is embedded again
    reproduce.main(argv)
    assert trained[2:] == [("new", 1), ("new", 2)]
    reproduce.main(argv)
    assert len(trained) == 4  # on the current vectors every cell is done


def test_demo_resume_reuses_a_finished_run_only_on_the_vectors_it_read(tmp_path, monkeypatch):
    from recbole_darec.experiments import demo
    from recbole_darec.experiments import vectors

    output = str(tmp_path / "demo")
    runs_files.write_runs(output + ".partial.csv", [
        {"model": "DaRecLightGCN", "seed": 1, "recall@20": 0.1, "best_valid": 0.1, "seconds": 1.0,
         "vectors": "leakedsplit0"},
        {"model": "DaRecLightGCN", "seed": 2, "recall@20": 0.2, "best_valid": 0.2, "seconds": 1.0,
         "vectors": "currentfiles"}])
    trained = []
    monkeypatch.setattr(vectors, "ensure_split_vectors", lambda *args, **kwargs: True)
    monkeypatch.setattr(vectors, "vectors_digest", lambda *args, **kwargs: "currentfiles")
    monkeypatch.setattr(demo, "train_run", lambda model, dataset, seed, *rest, **kwargs: trained.append(seed) or
                        {"model": model, "seed": seed, "recall@20": 0.3, "best_valid": 0.3, "seconds": 1.0,
                         "vectors": "currentfiles"})
    monkeypatch.setattr(sys, "argv", ["demo.py", "--models", "DaRecLightGCN", "--seeds", "1", "2",
                                      "--output", output, "--resume"])
    demo.main()
    assert trained == [1]  # seed 1's run read other vectors; seed 2's is reused
    with open(output + ".csv") as f:
        assert [(row["seed"], row["recall@20"]) for row in csv.DictReader(f)] == [("1", "0.3"), ("2", "0.2")]
