"""Cold-start metrics: cold, warm and all, from one full ranking per test user."""

import glob
import math
import os

import pytest
import torch
from recbole.quick_start import load_data_and_model, run_recbole

from conftest import tiny_config, write_tiny_dataset

from recbole_darec.datasets import cold as cold_split
from recbole_darec.experiments import cold_start


def test_ranking_metrics_by_hand():
    recall, ndcg = cold_start.ranking_metrics([5, 3, 9], {3, 7}, k=3)
    assert recall == 0.5
    assert ndcg == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert cold_start.ranking_metrics([5, 3, 9], set(), k=3) is None


def _cold_dataset(root):
    write_tiny_dataset(str(root), n_items=60, per_user=15)
    cold_split.build_cold("tiny", 0.2, 3, name="tinycold", data_path=str(root), out=str(root))
    # The item vectors cover every item, cold ones included (the models here read no user vectors).
    for kind in ("user", "item"):
        os.replace(os.path.join(root, "tiny", f"tiny.{kind}_llm.npz"), os.path.join(root, "tinycold", f"tinycold.{kind}_llm.npz"))


def _train(root, model, **overrides):
    config = tiny_config(root, epochs=3, benchmark_filename=["train", "valid", "test"], **overrides)
    result = run_recbole(model=model, dataset="tinycold", config_dict=config)
    (checkpoint,) = glob.glob(os.path.join(str(root), "saved", f"{model}-*.pth"))
    return result, load_data_and_model(checkpoint)


def test_all_is_recboles_own_test_metric_and_cold_items_never_trained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    result, (_, model, _, train_data, valid_data, test_data) = _train(tmp_path, "LightGCN")
    cold = cold_start.cold_items(train_data.dataset)
    assert len(cold) == 12  # 20% of 60 items
    metrics = cold_start.cold_warm_all(model, train_data, valid_data, test_data, k=5)
    assert metrics["all"]["recall@5"] == pytest.approx(result["test_result"]["recall@5"], abs=6e-5)
    assert metrics["all"]["ndcg@5"] == pytest.approx(result["test_result"]["ndcg@5"], abs=6e-5)
    assert metrics["cold"]["users"] > 0 and metrics["warm"]["users"] > 0
    assert not cold_start.text_path(model) and metrics["text_path"] is False


def test_a_model_with_a_text_path_scores_the_cold_items_through_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    _, (_, model, _, train_data, valid_data, test_data) = _train(tmp_path, "AlphaRec")
    assert cold_start.text_path(model)
    # Text scores above every known item's: each top list is cold items first.
    monkeypatch.setattr(type(model), "scores_from_text",
                        lambda self, users, vectors: torch.full((len(users), len(vectors)), 1e6))
    metrics = cold_start.cold_warm_all(model, train_data, valid_data, test_data, k=5)
    assert metrics["warm"]["recall@5"] == 0.0 and metrics["cold"]["recall@5"] > 0 and metrics["text_path"]


def test_the_cold_start_grid_writes_its_table(tmp_path, monkeypatch):
    import sys

    from recbole_darec.experiments import cold_start_grid as script
    _cold_dataset(tmp_path)
    config = tmp_path / "cold.yaml"
    # eval_step 2: Pop's one epoch is then validated and saved only because train_run sets its
    # eval_step to 1 (without that, its test loads a checkpoint that was never written).
    config.write_text("benchmark_filename: [train, valid, test]\nhide_unseen_items: True\nepochs: 2\neval_step: 2\n"
                      "embedding_size: 8\n"
                      "topk: [5]\nmetrics: [Recall, NDCG]\nvalid_metric: NDCG@5\nshow_progress: False\n")
    output = str(tmp_path / "results" / "cold")
    monkeypatch.setattr(sys, "argv", ["x"])
    argv = ["--dataset", "tinycold", "--data_path", str(tmp_path), "--models", "Pop", "AlphaRec",
            "--seeds", "1", "--config", str(config), "--output", output, "--k", "5"]
    script.main(argv)
    report = open(output + "-tinycold.md").read()
    assert report.startswith("# Cold-start") and "Command: `python run_scripts/cold_start.py --dataset tinycold" in report
    assert "| Pop | its untrained row / popularity | 1 | " in report and "| AlphaRec | its text | 1 | " in report
    assert "- AlphaRec: " in report
    script.main(argv)  # every cell done: nothing trains again
    assert len(open(output + "-tinycold.runs.csv").read().splitlines()) == 3


def _prepared(root, model, **overrides):
    import recbole_darec  # noqa: F401
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, init_seed

    config = Config(model=model, dataset="tinycold",
                    config_dict=tiny_config(root, benchmark_filename=["train", "valid", "test"], **overrides))
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, _, _ = data_preparation(config, dataset)
    return config, train_data, get_model(model)(config, train_data.dataset)


@pytest.mark.parametrize("hide", [True, False])
def test_hidden_cold_items_are_never_a_training_negative_nor_aligned(tmp_path, monkeypatch, hide):
    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    _, train_data, model = _prepared(tmp_path, "DaRecLightGCN", hide_unseen_items=hide)
    cold = set(cold_start.cold_items(train_data.dataset))
    negatives = set()
    for _ in range(20):  # 20 epochs of draws: with 12 of 60 items cold, one is drawn unless hidden
        for batch in train_data:
            negatives.update(batch[model.NEG_ITEM_ID].tolist())
    aligned_items = {row - model.n_users for row in model.alignable_rows.tolist() if row >= model.n_users}
    assert len(negatives) > len(cold)
    if hide:
        assert not negatives & cold and not aligned_items & cold
        assert aligned_items == set(range(1, model.n_items)) - cold
    else:
        assert negatives & cold and cold <= aligned_items


@pytest.mark.parametrize("hide", [True, False])
def test_alpharec_draws_its_negatives_among_the_training_items_when_unseen_ones_are_hidden(tmp_path, monkeypatch, hide):
    from recbole_darec.model import alpharec

    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    _, train_data, model = _prepared(tmp_path, "AlphaRec", hide_unseen_items=hide)
    cold = set(cold_start.cold_items(train_data.dataset))
    # One-dimensional tables where a user's score for item i is i: the drawn negatives' scores are their ids.
    monkeypatch.setattr(model, "forward", lambda: (torch.ones(model.n_users, 1),
                                                    torch.arange(model.n_items, dtype=torch.float).unsqueeze(1)))
    drawn = set()
    monkeypatch.setattr(alpharec, "alpharec_infonce",
                        lambda positive, negative, tau: drawn.update(negative.long().flatten().tolist()) or positive.sum())
    for batch in train_data:
        model.calculate_loss(batch)
    assert 0 not in drawn and drawn <= set(range(1, model.n_items))
    assert bool(drawn & cold) is not hide


def test_hide_unseen_items_refuses_a_value_that_is_not_a_bool(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    with pytest.raises(ValueError, match="config key hide_unseen_items must be True or False, got 'yes'"):
        _prepared(tmp_path, "LightGCN", hide_unseen_items="yes")
    popularity = {"distribution": "popularity", "sample_num": 1, "alpha": 1.0, "dynamic": False, "candidate_num": 0}
    with pytest.raises(ValueError, match="hide_unseen_items: True needs train_neg_sample_args' distribution 'uniform'"):
        _prepared(tmp_path, "LightGCN", hide_unseen_items=True, train_neg_sample_args=popularity)


def test_darecs_global_terms_over_all_rows_see_the_sampled_rows_when_unseen_items_are_hidden(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    _, train_data, model = _prepared(tmp_path, "DaRecLightGCN", hide_unseen_items=True, darec_global_rows="all",
                                     darec_sample_size=20)
    seen = {}

    def capture(self, cf_rows, llm_rows, sample=None):
        seen.update(cf=cf_rows, llm=llm_rows, sample=sample)
        return {"term": cf_rows.sum() * 0}

    monkeypatch.setattr(type(model.darec), "forward", capture)
    # RecBole numbers the cold items last (they first appear in validation), so hide one more in
    # the middle as well: past it, positions in alignable_rows and row numbers part.
    middle = model.n_users + model.n_items // 2
    model.alignable_rows = model.alignable_rows[model.alignable_rows != middle]
    picked = torch.cat([model.alignable_rows[:5], model.alignable_rows[-15:]])
    monkeypatch.setattr(model, "sample_rows", lambda interaction: picked)
    batch = next(iter(train_data))
    user_table, item_table = model.forward()
    model.alignment_losses(user_table, item_table, batch)
    cf_all = torch.cat([user_table, item_table])
    # The sample indexes the aligned rows: it must pick exactly the sampled rows' vectors.
    assert torch.equal(seen["cf"][seen["sample"]], cf_all[picked])
    assert torch.equal(seen["llm"][seen["sample"]], model.llm_vectors[picked])


def test_a_reloaded_training_loader_follows_the_config_it_is_handed(tmp_path, monkeypatch):
    # RecBole reloads saved dataloaders and hands them the run's config through update_config.
    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    config, train_data, _ = _prepared(tmp_path, "LightGCN")
    cold = set(cold_start.cold_items(train_data.dataset))
    config["hide_unseen_items"] = True
    train_data.update_config(config)
    drawn = set(train_data._sampler.sampling(5000).tolist())
    assert drawn and not drawn & cold
    config["hide_unseen_items"] = False
    train_data.update_config(config)
    assert set(train_data._sampler.sampling(5000).tolist()) & cold


def test_con_scores_an_item_from_text_at_the_trained_items_mean_norm(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _cold_dataset(tmp_path)
    _, train_data, model = _prepared(tmp_path, "LightGCNCon")
    trained = sorted(set(range(1, model.n_items)) - set(cold_start.cold_items(train_data.dataset)))
    items = torch.zeros(model.n_items, 4)
    items[trained] = 2.0  # trained rows of norm 4; the cold rows stay 0 and must not pull the mean down
    monkeypatch.setattr(model, "ranking_tables", lambda: (torch.ones(model.n_users, 4), items))
    rows = model.item_rows_from_text(model.llm_vectors[model.n_users + 1: model.n_users + 3])
    assert torch.allclose(rows.norm(dim=1), torch.full((2,), 4.0))
