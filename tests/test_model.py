"""DaRecLightGCN as a model: gradients, sampling, switches, and errors raised on bad config."""

import pytest
import torch
from recbole.model.general_recommender.lightgcn import LightGCN

from helpers import build, first_batch
from recbole_darec import DaRecLightGCN


def _grad_norm(parameters):
    return sum(p.grad.abs().sum().item() for p in parameters if p.grad is not None)


def test_darec_terms_alone_reach_lightgcn_embeddings_and_all_four_projectors(tiny):
    _, _, (train, _, _), model = build(tiny)
    losses = model.calculate_loss(first_batch(train))
    assert model.loss_names == ("bpr_reg", "orthogonal", "uniformity", "global", "local")
    assert len(losses) == len(model.loss_names)
    sum(losses[1:]).backward()  # the DaRec terms only, without BPR
    assert _grad_norm([model.user_embedding.weight]) > 0
    assert _grad_norm([model.item_embedding.weight]) > 0
    for projector in ("cf_shared", "cf_specific", "llm_shared", "llm_specific"):
        assert _grad_norm(getattr(model.darec, projector).parameters()) > 0, projector


def test_llm_vectors_are_fixed_and_not_saved(tiny):
    _, _, _, model = build(tiny)
    assert "llm_vectors" not in model.state_dict()
    assert all(p is not model.llm_vectors for p in model.parameters())


@pytest.mark.parametrize("term", ["orthogonal", "uniformity", "global", "local"])
def test_each_ablation_switch_removes_exactly_its_term(tiny, term):
    _, _, (train, _, _), model = build(tiny, **{f"darec_{term}": False})
    expected = tuple(t for t in ("orthogonal", "uniformity", "global", "local") if t != term)
    assert model.loss_names == ("bpr_reg",) + expected
    assert len(model.calculate_loss(first_batch(train))) == 1 + len(expected)


def test_without_disentanglement_only_alignment_terms_remain(tiny):
    _, _, (train, _, _), model = build(tiny, darec_disentangle=False)
    assert model.loss_names == ("bpr_reg", "global", "local")
    assert not hasattr(model.darec, "cf_specific")
    losses = model.calculate_loss(first_batch(train))
    assert len(losses) == 3 and all(torch.isfinite(loss) for loss in losses)
    assert losses[1] > 0  # L_glo of untrained projections is not zero


def test_weight_scales_the_darec_terms(tiny):
    _, _, (train, _, _), model = build(tiny, darec_weight=1.0)
    batch = first_batch(train)
    torch.manual_seed(0)
    full = model.calculate_loss(batch)
    model.darec_weight = 0.25
    torch.manual_seed(0)
    quarter = model.calculate_loss(batch)
    assert quarter[0].item() == pytest.approx(full[0].item())
    for a, b in zip(full[1:], quarter[1:]):
        assert b.item() == pytest.approx(0.25 * a.item(), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("mode", ["uniform", "batch"])
def test_sample_has_requested_size_and_never_pad_rows(tiny, mode):
    _, _, (train, _, _), model = build(tiny, darec_sample_mode=mode, darec_sample_size=70)
    batch = first_batch(train)
    rows = model.sample_rows(batch)
    assert len(rows) == 70 and len(torch.unique(rows)) == 70
    assert 0 not in rows.tolist() and model.n_users not in rows.tolist()
    if mode == "batch":
        small = batch[:10]
        rows = model.sample_rows(small)
        wanted = set(small["user_id"].tolist()) | {
            i + model.n_users for i in small["item_id"].tolist() + small["neg_item_id"].tolist()
        }
        assert wanted <= set(rows.tolist())


def test_sample_size_larger_than_users_plus_items_is_clamped(tiny):
    _, _, (train, _, _), model = build(tiny, darec_sample_size=10**6)
    assert model.sample_size == model.n_users + model.n_items - 2
    seen = []
    original = model.darec.forward
    model.darec.forward = lambda cf_rows, llm_rows, sample=None: seen.append(len(cf_rows)) or original(
        cf_rows, llm_rows, sample)
    losses = model.calculate_loss(first_batch(train))
    assert seen == [model.sample_size]  # every alignable row, each once
    assert all(torch.isfinite(loss) for loss in losses)


def test_global_rows_all_uses_every_row(tiny):
    _, _, (train, _, _), model = build(tiny, darec_global_rows="all")
    losses = model.calculate_loss(first_batch(train))
    assert all(torch.isfinite(loss).all() for loss in losses)


def test_more_clusters_than_rows_per_step_is_a_clear_error(tiny):
    with pytest.raises(ValueError, match="darec_n_clusters"):
        build(tiny, darec_sample_size=3, darec_n_clusters=4)


@pytest.mark.parametrize(
    "key, value",
    [
        ("darec_sample_mode", "random"),
        ("darec_global_rows", "some"),
        ("darec_global_form", "cosine"),
        ("darec_matching", "optimal"),
        ("darec_activation", "swish"),
        ("darec_n_clusters", 1),
        ("darec_interval", 0),
    ],
)
def test_bad_config_values_name_the_key(tiny, key, value):
    with pytest.raises(ValueError, match=key):
        build(tiny, **{key: value})


def test_prediction_is_lightgcns_own():
    assert DaRecLightGCN.full_sort_predict is LightGCN.full_sort_predict
    assert DaRecLightGCN.predict is LightGCN.predict


def test_a_plain_dataset_is_refused_with_a_clear_message(tiny):
    from recbole.data.dataset import Dataset

    config, _, _, _ = build(tiny)
    with pytest.raises(ValueError, match="needs language-model vectors"):
        DaRecLightGCN(config, Dataset(config))


def test_global_rows_all_sees_every_row_and_the_sample_for_the_rest(tiny, monkeypatch):
    _, _, (train, _, _), model = build(tiny, darec_global_rows="all", darec_sample_size=30)
    seen = {}
    original = model.darec.forward

    def spy(cf_rows, llm_rows, sample=None):
        seen.update(n_rows=len(cf_rows), sample=sample, llm_rows=llm_rows)
        return original(cf_rows, llm_rows, sample)

    monkeypatch.setattr(model.darec, "forward", spy)
    torch.manual_seed(0)
    model.calculate_loss(first_batch(train))
    assert seen["n_rows"] == len(model.alignable_rows)
    torch.manual_seed(0)
    rows = model.sample_rows(first_batch(train))
    # the sample's positions point back at the same rows of the users-then-items table
    assert torch.equal(seen["llm_rows"][seen["sample"]], model.llm_vectors[rows])


def test_interval_computes_darec_every_kth_batch_with_k_times_the_weight(tiny):
    _, _, (train, _, _), model = build(tiny, darec_interval=3, darec_weight=0.5)
    batch = first_batch(train)
    torch.manual_seed(0)
    first = model.calculate_loss(batch)
    skipped = [model.calculate_loss(batch) for _ in range(2)]
    for losses in skipped:
        assert len(losses) == len(first) and all(value.item() == 0 for value in losses[1:])
    model.darec_weight, model.interval, model._training_steps = 0.5, 1, 0
    torch.manual_seed(0)
    every = model.calculate_loss(batch)
    for a, b in zip(first[1:], every[1:]):
        assert a.item() == pytest.approx(3 * b.item(), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("model, key", [("DaRecLightGCN", f"darec_{switch}") for switch in (
    "disentangle", "orthogonal", "uniformity", "global", "local")] + [("SimGCL", "include_ego")])
def test_on_off_switches_refuse_anything_but_a_bool(tiny, model, key):
    # bool("no") is True: a string RecBole cannot parse as a bool must not turn a term on.
    with pytest.raises(ValueError, match=f"config key {key} must be True or False, got 'no'"):
        build(tiny, model=model, **{key: "no"})
