"""Generated tables in the docs: made from the runs files, checked for drift."""

import os
import statistics

import pytest
from scipy import stats

from recbole_darec.experiments import pages
from recbole_darec.experiments.runs import write_runs
from recbole_darec.experiments.tables import TableError, make_table


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_generated_table_in_the_docs_matches_its_runs_file():
    # Regenerating this checkout's README.md and docs/ from its committed runs files changes nothing.
    found = pages.pages(REPO)
    assert os.path.join(REPO, "docs", "results.md") in found
    assert sum(open(path, encoding="utf-8").read().count("<!-- generated: ") for path in found) >= 6
    assert pages.main(["--check", "--root", REPO]) == 0


def _runs(tmp_path, rows):
    path = tmp_path / "grid.runs.csv"
    base = {"dataset": "d", "backbone": "LightGCN", "setting": "s1", "model": "M"}
    write_runs(str(path), [{**base, **row} for row in rows])
    return str(path)


def test_a_variants_table_by_hand(tmp_path):
    ours, theirs = [0.30, 0.32, 0.34], [0.20, 0.25, 0.24]
    path = _runs(tmp_path, [{"variant": v, "seed": s, "recall@20": r, "ndcg@20": r / 2}
                            for v, values in (("darec", ours), ("base", theirs)) for s, r in zip((1, 2, 3), values)])
    table = make_table(f"variants --runs {path} --dataset d --rows DaRec=darec --against LightGCN=base")
    change = 100 * (statistics.mean(ours) - statistics.mean(theirs)) / statistics.mean(theirs)
    p = stats.ttest_rel(ours, theirs).pvalue
    assert table.splitlines()[0] == "| | R@20 / N@20 | vs LightGCN (p) |"
    assert table.splitlines()[2] == (
        f"| DaRec | 0.3200 ± 0.0200 / 0.1600 ± 0.0100 | +{change:.1f}% (p {p:.3f}) / +{change:.1f}% (p {p:.3f}) |")


def test_a_block_whose_table_differs_from_its_runs_is_rewritten(tmp_path):
    path = _runs(tmp_path, [{"variant": "base", "seed": s, "recall@20": 0.1 * s, "ndcg@20": 0.05 * s}
                            for s in (1, 2, 3)])
    stale = f"text\n<!-- generated: variants --runs {path} --dataset d --rows base -->\n| typed by hand |\n" \
            "<!-- end generated -->\nmore text\n"
    fresh = pages.regenerated(stale, "page.md")
    assert "| typed by hand |" not in fresh and "| base | 0.2000 ± 0.1000 / 0.1000 ± 0.0500 |" in fresh
    assert fresh.startswith("text\n") and fresh.endswith("<!-- end generated -->\nmore text\n")
    assert pages.regenerated(fresh, "page.md") == fresh


@pytest.mark.parametrize("rows, directive, message", [
    ([("base", "s1", 1), ("base", "s2", 2)], "--rows base --seeds 1 2", r"base has runs of settings \['s1', 's2'\]; name one as base@SETTING"),
    ([("base", "s1", 1)], "--rows base --seeds 1 2", r"base has no run for seeds \[2\]"),
    ([("base", "s1", 1)], "--rows base --seeds 1 --dataset other", "no run of backbone LightGCN on other"),
])
def test_a_directive_naming_runs_that_are_not_there_says_which(tmp_path, rows, directive, message):
    path = _runs(tmp_path, [{"variant": v, "setting": setting, "seed": seed, "recall@20": 0.1, "ndcg@20": 0.1}
                            for v, setting, seed in rows])
    with pytest.raises(TableError, match=message):
        make_table(f"variants --runs {path} --dataset d {directive}")
    # A variant made under two settings is picked by naming one.
    if "settings" in message:
        assert "| base@s2 | 0.1000" in make_table(f"variants --runs {path} --dataset d --rows base@s2 --seeds 2")


def test_an_unknown_table_is_named():
    with pytest.raises(TableError, match=r"unknown table \['chart'\]"):
        make_table("chart --runs x")


def test_a_validation_table_reads_the_best_validation_score_and_its_epoch(tmp_path):
    path = _runs(tmp_path, [{"variant": "alpharec:lr=1", "seed": 1, "recall@20": 0.9, "ndcg@20": 0.9,
                             "best_valid": 0.2738, "best_epoch": 80, "epochs": 115}])
    table = make_table(f"validation --runs {path} --dataset d --seeds 1 --rows lr=alpharec:lr=1")
    assert table.splitlines()[2] == "| lr | 0.2738 (80 of 115) |"  # never the test metrics


def test_a_controls_table_compares_real_with_shuffled_and_shuffled_with_the_backbone(tmp_path):
    values = {"con": [0.30, 0.31, 0.33], "con:llm_shuffle_seed=0": [0.24, 0.27, 0.26], "base": [0.25, 0.25, 0.26]}
    # The shuffled rows are written in reversed seed order: the t-test must pair by seed, not by line.
    rows = [{"variant": v, "seed": s, "recall@20": r, "ndcg@20": r} for v, rs in values.items()
            for s, r in zip((1, 2, 3), rs)]
    path = _runs(tmp_path, rows[:3] + rows[3:6][::-1] + rows[6:])
    table = make_table(f'controls --row "Con, d" {path} d LightGCN con con:llm_shuffle_seed=0 base')
    shuffled = values["con:llm_shuffle_seed=0"]
    real_vs_shuffled = 100 * (statistics.mean(values["con"]) / statistics.mean(shuffled) - 1)
    p_real = stats.ttest_rel(values["con"], shuffled).pvalue
    shuffled_vs_base = 100 * (statistics.mean(shuffled) / statistics.mean(values["base"]) - 1)
    p_base = stats.ttest_rel(shuffled, values["base"]).pvalue
    cells = table.splitlines()[2].split(" | ")
    assert cells[0] == "| Con, d" and cells[2].startswith("0.2567 ± 0.0153")
    assert cells[3] == f"+{real_vs_shuffled:.1f}% (p {p_real:.3f}) / +{real_vs_shuffled:.1f}% (p {p_real:.3f})"
    assert cells[4].startswith(f"+{shuffled_vs_base:.1f}% (p {p_base:.3f})")
    with pytest.raises(TableError, match="no run of backbone SGL"):
        make_table(f"controls --row x {path} d SGL con con:llm_shuffle_seed=0 base")


def test_a_pairs_table_reads_files_without_backbone_or_variant_columns(tmp_path):
    # demo.py's per-seed file: model and seed only; the model names the variant, the file name the
    # dataset. DaRec's rows come in reversed seed order: the t-test pairs by seed.
    base, ours = [0.20, 0.21, 0.25], [0.22, 0.22, 0.24]
    path = tmp_path / "ml-100k-demo.csv"
    write_runs(str(path), [{"model": "LightGCN", "seed": s, "recall@20": r, "ndcg@20": r} for s, r in zip((1, 2, 3), base)]
               + [{"model": "DaRecLightGCN", "seed": s, "recall@20": r, "ndcg@20": r}
                  for s, r in reversed(list(zip((1, 2, 3), ours)))])
    table = make_table(f'pairs --row "ml-100k, LightGCN" {path} ml-100k LightGCN LightGCN DaRecLightGCN')
    change = 100 * (statistics.mean(ours) / statistics.mean(base) - 1)
    p = stats.ttest_rel(ours, base).pvalue
    assert table.splitlines()[2] == (f"| ml-100k, LightGCN | 0.2200 ± 0.0265 / 0.2200 ± 0.0265 | 0.2267 ± 0.0115 / "
                                     f"0.2267 ± 0.0115 | +{change:.1f}% (p {p:.3f}) / +{change:.1f}% (p {p:.3f}) |")
    with pytest.raises(TableError, match="no run for seeds"):
        make_table(f"pairs --row x {path} ml-100k LightGCN LightGCN DaRecLightGCN --seeds 4")
    with pytest.raises(TableError, match="has no dataset column and its name does not say steam"):
        make_table(f"pairs --row x {path} steam LightGCN LightGCN DaRecLightGCN")


def test_a_means_table_shows_each_column_and_the_differences_asked_for(tmp_path):
    values = {"base": [0.20, 0.21, 0.22], "con": [0.22, 0.22, 0.23], "darec": [0.19, 0.21, 0.20]}
    path = _runs(tmp_path, [{"variant": v, "seed": s, "recall@20": r, "ndcg@20": r / 2}
                            for v, rs in values.items() for s, r in zip((1, 2, 3), rs)])
    table = make_table(f'means --columns base Con DaRec --compare DaRec:Con --row "d, LightGCN" {path} d LightGCN '
                       f'base con darec')
    header, _, row = table.splitlines()
    assert header == "| | base | Con | DaRec | DaRec vs Con (p) |"
    change = 100 * (statistics.mean(values["darec"]) / statistics.mean(values["con"]) - 1)
    p = stats.ttest_rel(values["darec"], values["con"]).pvalue
    assert row == (f"| d, LightGCN | 0.2100 / 0.1050 | 0.2233 / 0.1117 | 0.2000 / 0.1000 | "
                   f"−{abs(change):.1f}% (p {p:.3f}) / −{abs(change):.1f}% (p {p:.3f}) |")
    with pytest.raises(TableError, match="one variant per column"):
        make_table(f"means --columns base Con --row x {path} d LightGCN base")
    with pytest.raises(TableError, match="--compare names"):
        make_table(f"means --columns base Con --compare Gen:base --row x {path} d LightGCN base con")


def test_a_published_table_compares_each_row_with_rlmrecs_table_1(tmp_path):
    from recbole_darec.experiments.reproduce import read_published

    theirs = read_published()[("LightGCN", "yelp")]
    path = tmp_path / "rlmrec.runs.csv"
    write_runs(str(path), [{"model": "RLMRecLightGCN", "dataset": "yelp", "setting": "s", "seed": s,
                            "recall@20": theirs["recall@20"] * f, "ndcg@20": theirs["ndcg@20"] * f}
                           for s, f in ((1, 1.02), (2, 1.02), (3, 1.1))])
    table = make_table(f'published --row ours {path} yelp RLMRecLightGCN LightGCN')
    # mean factor (1.02 + 1.02 + 1.1) / 3 = 1.0467
    assert table.splitlines()[2].endswith(f"| {theirs['recall@20']:.4f} / {theirs['ndcg@20']:.4f} | +4.7% / +4.7% |")
    table = make_table(f'published --seeds 3 --row ours {path} yelp RLMRecLightGCN LightGCN')
    assert table.splitlines()[2].endswith("| +10.0% / +10.0% |")
    with pytest.raises(TableError, match="no row RLMRecLightGCN on yelp"):
        make_table(f'published --row ours {path} yelp RLMRecLightGCN RLMRecLightGCN')
