"""run_scripts/compare.py: the claim grid (base, Con, Gen, DaRec, ablations), its paired test and verdicts."""

import csv
import importlib.util
import os
import subprocess
import sys

import pytest
import yaml

from conftest import tiny_config, write_tiny_dataset
from recbole_darec.experiments import stats
from recbole_darec.experiments import runs as runs_files
from recbole_darec.data.llm_vectors import write_npz_vectors

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load():
    from recbole_darec.experiments import compare

    return compare


def _tiny_dataset_and_config(tmp_path):
    r"""The tiny dataset under ``tmp_path`` and a config file for it (R@20 / N@20); the config's path."""
    write_tiny_dataset(str(tmp_path))
    config = os.path.join(str(tmp_path), "tiny.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(tiny_config(tmp_path, topk=[20], valid_metric="NDCG@20"), f)
    return config


def _compare_with_reuse(tmp_path, config, earlier, variants, seeds, options=()):
    r"""compare.py on the tiny dataset, reusing ``earlier``; the finished process and the output prefix."""
    output = os.path.join(str(tmp_path), "results", "claim")
    argv = [sys.executable, os.path.join(REPO, "run_scripts", "compare.py"), "--backbones", "LightGCN",
            "--datasets", "tiny", "--config", f"tiny={config}", "--variants", *variants, "--seeds", *seeds,
            "--output", output, "--reuse", earlier, *options, "--epochs=1"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=str(tmp_path),
                               env={**os.environ, "PYTHONPATH": REPO})
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed, output


def test_paired_t_test_by_hand():
    # Differences 1, 2, 3: t = 2 / (1 / sqrt(3)) = 3.464 with 2 degrees of freedom, p = 0.0742.
    assert stats.paired_t_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]) == pytest.approx(0.0742, abs=1e-4)
    assert stats.paired_t_test([1.0], [0.0]) is None


def test_verdict_words_follow_sign_and_significance():
    compare = _load()
    comparison = {"recall@20": {"con": (0.05, 0.01, 3), "gen": (-0.04, 0.02, 3), "base": (0.01, 0.6, 3)},
                  "ndcg@20": {"con": (0.06, 0.03, 3), "gen": (-0.03, 0.2, 3), "base": (0.02, 0.4, 3)}}
    text = compare.verdict("LightGCN", comparison)
    assert "DaRecLightGCN does not differ significantly from LightGCN: recall@20 +1.0% (p=0.600)" in text
    assert "DaRecLightGCN beats LightGCN-Con" in text
    assert "DaRecLightGCN loses to LightGCN-Gen" in text


def test_verdict_on_one_paired_seed_claims_no_significance_either_way():
    compare = _load()
    comparison = {"recall@20": {"base": (-0.005, None, 1)}, "ndcg@20": {"base": (-0.007, None, 1)}}
    text = compare.verdict("SGL", comparison)
    assert text.startswith("DaRecSGL cannot yet be tested against SGL (1 paired seed; the t-test needs 2): ")
    assert "recall@20 -0.5% (p=n/a)" in text and "significantly" not in text


def test_compare_runs_every_variant_once_and_writes_the_claim_table(tmp_path):
    config = _tiny_dataset_and_config(tmp_path)
    output = os.path.join(str(tmp_path), "results", "claim")
    argv = [sys.executable, os.path.join(REPO, "run_scripts", "compare.py"), "--backbones", "LightGCN",
            "--datasets", "tiny", "--config", f"tiny={config}", "--variants", "base", "con", "gen", "darec",
            "no_local", "con:con_weight=0.5", "--seeds", "1", "2", "--output", output, "--epochs=1"]
    env = {**os.environ, "PYTHONPATH": REPO}
    first = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=str(tmp_path), env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    with open(output + ".runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert sorted((r["variant"], r["model"], r["seed"]) for r in runs) == sorted(
        (v, m, s) for v, m in [("base", "LightGCN"), ("con", "LightGCNCon"), ("gen", "LightGCNGen"),
                               ("darec", "DaRecLightGCN"), ("no_local", "DaRecLightGCN"),
                               ("con:con_weight=0.5", "LightGCNCon")] for s in ("1", "2"))
    settings = {r["variant"]: r["setting"] for r in runs}
    assert settings["no_local"] != settings["darec"]  # the ablation's override is part of its setting
    assert settings["con:con_weight=0.5"] != settings["con"]
    report = open(output + "-tiny.md").read()
    assert "| con | LightGCNCon | 2 |" in report and "| no_local | DaRecLightGCN | 2 |" in report
    assert "| con:con_weight=0.5 | LightGCNCon | 2 |" in report
    assert "LightGCN-Con (con_weight=0.5)" in report.split("## Verdict")[1]
    assert "| gen | " in report.split("DaRec against each")[1]
    assert "- **LightGCN**: DaRecLightGCN " in report and "LightGCN-Con" in report.split("## Verdict")[1]
    again = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=str(tmp_path), env=env)
    assert again.returncode == 0 and again.stdout.count("done earlier") == 12
    assert {r["vectors"] != "" for r in runs if r["variant"] != "base"} == {True}
    assert {r["vectors"] for r in runs if r["variant"] == "base"} == {""}  # reads no vectors

    # The item vectors are made again (another encoder, say): the aligned runs are no longer done,
    # and the report no longer counts them; the base runs stand.
    folder, _, items, _, item_vectors = write_tiny_dataset(str(tmp_path), write_vectors=False)
    write_npz_vectors(os.path.join(folder, "tiny.item_llm.npz"), items, 2 * item_vectors)
    stale = subprocess.run(argv + ["--report-only"], capture_output=True, text=True, timeout=900, cwd=str(tmp_path),
                           env=env)
    assert stale.returncode == 0, stale.stderr[-3000:]
    assert stale.stdout.count("done earlier") == 2 and stale.stdout.count("not run (--report-only)") == 10
    report = open(output + "-tiny.md").read()
    assert "| base | LightGCN | 2 |" in report and "| con | LightGCNCon |" not in report


def test_compare_refuses_a_grid_without_darec_and_unknown_variants():
    argv = [sys.executable, os.path.join(REPO, "run_scripts", "compare.py"), "--variants", "base", "con"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert completed.returncode == 2 and "must include darec" in completed.stderr
    completed = subprocess.run(argv + ["no_local"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert completed.returncode == 2 and "must include darec" in completed.stderr  # an ablation is not the row
    completed = subprocess.run(argv[:-1] + ["darec", "nonsense"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert completed.returncode == 2 and "nonsense" in completed.stderr


def test_compare_reuses_only_runs_of_the_same_setting(tmp_path):
    config = _tiny_dataset_and_config(tmp_path)
    fingerprint = runs_files.setting_fingerprint([config], {"epochs": "1"})
    earlier = os.path.join(str(tmp_path), "earlier.runs.csv")
    # reproduce.py's columns, with a cutoff (@5) that compare's own runs lack
    metrics = {"recall@5": 0.1, "recall@20": 0.5, "ndcg@5": 0.2, "ndcg@20": 0.25, "best_valid": 0.3, "seconds": 9.0}
    runs_files.write_runs(earlier, [
        {"model": "LightGCN", "dataset": "tiny", "setting": fingerprint, "seed": 3, **metrics},
        {"model": "LightGCN", "dataset": "tiny", "setting": "another0000", "seed": 4, **metrics}])
    completed, output = _compare_with_reuse(tmp_path, config, earlier, ["base", "darec"], ["3", "4"])
    assert completed.stdout.count("same setting found") == 1
    runs = runs_files.read_runs(output + ".runs.csv")
    reused = [r for r in runs if r.get("reused_from")]
    assert [(r["variant"], r["seed"], r["recall@20"]) for r in reused] == [("base", 3, 0.5)]
    trained = sorted((r["variant"], r["seed"]) for r in runs if not r.get("reused_from"))
    assert trained == [("base", 4), ("darec", 3), ("darec", 4)]  # seed 4's setting differs: trained
    assert "| variant | model | runs | recall@20 | ndcg@20 |" in open(output + "-tiny.md").read()


def test_report_only_counts_reused_runs_and_trains_nothing(tmp_path):
    config = _tiny_dataset_and_config(tmp_path)
    earlier = os.path.join(str(tmp_path), "earlier.runs.csv")
    metrics = {"ndcg@20": 0.25, "best_valid": 0.3, "seconds": 9.0}
    runs_files.write_runs(earlier, [
        {"model": model, "dataset": "tiny", "setting": runs_files.setting_fingerprint([config], settings),
         "seed": 1, "recall@20": recall, **metrics}
        for model, settings, recall in [("LightGCN", {"epochs": "1"}, 0.5),
                                        ("DaRecLightGCN", {"epochs": "1", "darec_interval": "10"}, 0.4)]])
    completed, output = _compare_with_reuse(tmp_path, config, earlier, ["base", "darec:darec_interval=10"],
                                            ["1", "2"], options=["--report-only"])
    assert completed.stdout.count("same setting found") == 2
    assert completed.stdout.count("not run (--report-only)") == 2  # seed 2 of both: nothing to reuse
    runs = runs_files.read_runs(output + ".runs.csv")
    assert sorted((r["variant"], r["seed"], r["recall@20"]) for r in runs) == [
        ("base", 1, 0.5), ("darec:darec_interval=10", 1, 0.4)]
    assert not os.path.exists(output + ".resume") or not os.listdir(output + ".resume")
    assert "-20.0%" in open(output + "-tiny.md").read()  # DaRec's 0.4 against the base's 0.5


def test_a_darec_row_with_settings_of_its_own_is_what_the_others_are_compared_against(tmp_path):
    config = _tiny_dataset_and_config(tmp_path)
    compare = _load()
    assert compare.darec_row(["base", "darec:darec_interval=10", "darec:darec_weight=1"]) == "darec:darec_interval=10"
    assert compare.darec_row(["darec:darec_interval=10", "darec"]) == "darec"
    assert compare.darec_row(["base", "con"]) is None
    # Without DaRec, AlphaRec is the row compared against, and DaRec becomes one of its rivals.
    assert compare.darec_row(["base", "alpharec:alpharec_tau=0.1", "darec"]) == "darec"
    assert compare.darec_row(["base", "alpharec:alpharec_tau=0.1", "con"]) == "alpharec:alpharec_tau=0.1"
    assert compare.rival_kind("darec", ours="alpharec") == "darec"
    # --anchor picks it outright: AlphaRec's table beside a DaRec row.
    argv = ["--backbones", "LightGCN", "--datasets", "tiny", "--config", f"tiny={config}"]
    assert compare.parse_args(argv + ["--variants", "base", "darec", "alpharec", "--anchor", "alpharec"])[0].ours == "alpharec"
    for anchor in ("alpharec:alpharec_tau=0.1", "base"):
        with pytest.raises(SystemExit):
            compare.parse_args(argv + ["--variants", "base", "darec", "alpharec", "base", "--anchor", anchor])
    assert compare.rival_kind("darec:llm_shuffle_seed=0", ours="darec") is None
    # Base runs made by reproduce.py without DaRec's keys, DaRec runs with darec_interval: all reused.
    base_setting = runs_files.setting_fingerprint([config], {"epochs": "1"})
    darec_setting = runs_files.setting_fingerprint([config], {"epochs": "1", "darec_interval": "10"})
    earlier = os.path.join(str(tmp_path), "earlier.runs.csv")
    runs_files.write_runs(earlier, [
        {"model": model, "dataset": "tiny", "setting": setting, "seed": seed, "recall@20": recall,
         "ndcg@20": recall / 2, "best_valid": 0.3, "seconds": 9.0}
        for model, setting, values in [("LightGCN", base_setting, (0.50, 0.52)),
                                       ("DaRecLightGCN", darec_setting, (0.55, 0.56))]
        for seed, recall in zip((1, 2), values)])
    completed, output = _compare_with_reuse(tmp_path, config, earlier, ["base", "darec:darec_interval=10"],
                                            ["1", "2"])
    assert completed.stdout.count("same setting found") == 4  # nothing trained
    report = open(output + "-tiny.md").read()
    # (0.555 - 0.51) / 0.51 = +8.8%
    assert "| base | +8.8% (p=" in report.split("DaRec against each")[1]
    assert "- **LightGCN**: DaRecLightGCN (darec_interval=10) " in report and "LightGCN: recall@20 +8.8%" in report


def test_compare_refuses_a_missing_reuse_file(tmp_path):
    argv = [sys.executable, os.path.join(REPO, "run_scripts", "compare.py"), "--reuse", str(tmp_path / "nope.csv")]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert completed.returncode == 2 and "nope.csv" in completed.stderr


def test_a_variant_with_settings_of_its_own_is_its_own_cell_and_verdict():
    compare = _load()
    assert compare.variant_setting("con") == ("{X}Con", {})
    assert compare.variant_setting("con:con_weight=0.0001,con_tau=0.5") == (
        "{X}Con", {"con_weight": "0.0001", "con_tau": "0.5"})
    assert compare.variant_setting("no_local:darec_weight=0.3") == (
        "DaRec{X}", {"darec_local": False, "darec_weight": "0.3"})
    for bad in ("con:", "con:con_weight", "con:=1", "nonsense:con_weight=1"):
        with pytest.raises(ValueError):
            compare.variant_setting(bad)
    comparison = {"recall@20": {"con": (-0.05, 0.01, 3), "con:con_weight=0.0001": (0.02, 0.04, 3)},
                  "ndcg@20": {"con": (-0.04, 0.02, 3), "con:con_weight=0.0001": (0.01, 0.3, 3)}}
    text = compare.verdict("SimGCL", comparison)
    assert "DaRecSimGCL loses to SimGCL-Con: recall@20 -5.0%" in text
    assert "DaRecSimGCL beats SimGCL-Con (con_weight=0.0001): recall@20 +2.0%" in text


def test_a_variant_may_swap_the_model_class_through_recboles_model_key():
    compare = _load()
    # RLMRec's SGL (layers summed) as the base beside DaRecSGL with layer_combination: sum.
    assert compare.variant_setting("base:model=RLMRecSGL,layer_combination=sum") == (
        "RLMRecSGL", {"layer_combination": "sum"})
    argv = [sys.executable, os.path.join(REPO, "run_scripts", "compare.py"), "--variants", "darec",
            "base:model=RLMRecSgl"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert completed.returncode == 2 and "base:model=RLMRecSgl" in completed.stderr
    assert "expected 'RLMRecSGL'" in completed.stderr


def test_a_malformed_variant_is_refused_by_the_command_line():
    argv = [sys.executable, os.path.join(REPO, "run_scripts", "compare.py"), "--variants", "darec", "con:con_weight"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert completed.returncode == 2 and "con:con_weight" in completed.stderr and "key=value" in completed.stderr


def test_each_method_is_compared_with_the_base_and_with_its_own_shuffled_control():
    compare = _load()

    def runs(*values):
        return [{"seed": seed, "recall@20": v, "ndcg@20": v / 2} for seed, v in zip((1, 2, 3), values)]

    by_variant = {"base": runs(0.30, 0.31, 0.32), "con": runs(0.33, 0.34, 0.36),
                  "con:llm_shuffle_seed=0": runs(0.30, 0.31, 0.32), "gen": runs(0.29, 0.30, 0.31)}
    lines = compare.text_contribution(by_variant)
    (row,) = [line for line in lines if line.startswith("| con |")]  # gen has no shuffled control
    # con over base and over its shuffled self: means 0.3433 / 0.31 = +10.8%
    assert row.count("+10.8%") == 4
    assert compare.text_contribution({"base": runs(0.3, 0.3, 0.3), "con": runs(0.3, 0.3, 0.3)}) == []


def test_leak_report_puts_leaked_and_clean_rows_side_by_side(tmp_path):
    spec = importlib.util.spec_from_file_location("leak_report", os.path.join(REPO, "run_scripts", "leak_report.py"))
    leak_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(leak_report)
    header = "backbone,variant,runs,recall@20_mean,recall@20_std,ndcg@20_mean,ndcg@20_std\n"
    (tmp_path / "leaked.csv").write_text(header + "LightGCN,con,3,0.40,0.01,0.30,0.01\nLightGCN,gen,3,0.3,0,0.3,0\n")
    (tmp_path / "clean.csv").write_text(header + "LightGCN,con,2,0.38,0.02,0.33,0.01\n")
    leak_report.main(["--leaked", str(tmp_path / "leaked.csv"), "--clean", str(tmp_path / "clean.csv"),
                      "--output", str(tmp_path / "leak.md")])
    text = (tmp_path / "leak.md").read_text()
    assert text.startswith("# What the ml-100k leak did") and "Command: `python run_scripts/leak_report.py" in text
    assert "| LightGCN | con | 2 | 0.4000 ± 0.0100 | 0.3800 ± 0.0200 | -5.0% | 0.3000 ± 0.0100 | 0.3300 ± 0.0100 | +10.0% |" in text
    assert "| gen |" not in text  # not measured clean yet


def test_leak_report_pairs_several_tables_in_order(tmp_path):
    spec = importlib.util.spec_from_file_location("leak_report", os.path.join(REPO, "run_scripts", "leak_report.py"))
    leak_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(leak_report)
    header = "backbone,variant,runs,recall@20_mean,recall@20_std,ndcg@20_mean,ndcg@20_std\n"
    # the same (backbone, variant) in both pairs: each leaked row is set beside its own clean one
    for name, row in (("leaked-a", "LightGCN,con,3,0.40,0,0.30,0"), ("clean-a", "LightGCN,con,3,0.20,0,0.15,0"),
                      ("leaked-b", "LightGCN,con,3,0.50,0,0.40,0"), ("clean-b", "LightGCN,con,3,0.25,0,0.20,0")):
        (tmp_path / f"{name}.csv").write_text(header + row + "\n")
    leak_report.main(["--leaked", str(tmp_path / "leaked-a.csv"), str(tmp_path / "leaked-b.csv"),
                      "--clean", str(tmp_path / "clean-a.csv"), str(tmp_path / "clean-b.csv"),
                      "--output", str(tmp_path / "leak.md")])
    text = (tmp_path / "leak.md").read_text()
    assert "| LightGCN | con | 3 | 0.4000 ± 0.0000 | 0.2000 ± 0.0000 | -50.0% |" in text
    assert "| LightGCN | con | 3 | 0.5000 ± 0.0000 | 0.2500 ± 0.0000 | -50.0% |" in text
    with pytest.raises(SystemExit, match="identical to"):  # not re-measured yet
        leak_report.main(["--leaked", str(tmp_path / "leaked-a.csv"), "--clean", str(tmp_path / "leaked-a.csv"),
                          "--output", str(tmp_path / "other.md")])
    with pytest.raises(SystemExit):
        leak_report.main(["--leaked", str(tmp_path / "leaked-a.csv"), str(tmp_path / "leaked-b.csv"),
                          "--clean", str(tmp_path / "clean-a.csv"), "--output", str(tmp_path / "other.md")])
    assert not (tmp_path / "other.md").exists()


def test_an_alpharec_anchored_verdict_names_alpharec_and_counts_darec_as_a_rival():
    compare = _load()
    comparison = {m: {"base": (0.10, 0.01, 3), "darec": (-0.05, 0.02, 3), "alpharec:llm_shuffle_seed=0": (0.2, 0.01, 3)}
                  for m in compare.HEADLINE}
    text = compare.verdict("LightGCN", comparison, ours="alpharec")
    assert text.startswith("AlphaRec beats LightGCN: recall@20 +10.0% (p=0.010)")
    assert "AlphaRec loses to DaRecLightGCN: recall@20 -5.0%" in text
    assert "shuffle" not in text  # its own control is the text table's, not a rival


def test_a_reports_title_names_the_methods_it_compares():
    compare = _load()
    assert compare.listed_methods(["darec:darec_score=fused", "base", "con:con_negatives=batch"]) == \
        "base, RLMRec-Con, DaRec"
    assert compare.listed_methods(["base", "con", "gen", "darec", "no_local", "hungarian"]) == \
        "base, RLMRec-Con, RLMRec-Gen, DaRec, DaRec's ablations"
    assert compare.listed_methods(["alpharec", "alpharec:llm_shuffle_seed=0", "base"]) == "base, AlphaRec"
