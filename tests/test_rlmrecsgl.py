"""RLMRecSGL: RecBole's SGL with RLMRec's layer sum and, as choices, its loss and per-step views."""

import math

import pytest
import torch
from recbole.model.general_recommender.sgl import SGL

from helpers import build, first_batch


def _both_forwards(model, graph):
    with torch.no_grad():
        return torch.cat(model.forward(graph)), torch.cat(SGL.forward(model, graph))


def test_defaults_are_rlmrecs_and_sgls_own_keys_are_kept(tiny):
    config, _, _, model = build(tiny, model="RLMRecSGL")
    assert config["layer_combination"] == "sum" and model.layer_combination == "sum"
    assert (config["type"], config["drop_ratio"], config["ssl_tau"]) == ("ED", 0.1, 0.5)  # RecBole's SGL.yaml


@pytest.mark.parametrize("augmentation", ["ED", "RW"])  # one graph for all layers; one per layer
def test_sum_is_layers_plus_one_times_recboles_mean_on_every_graph(tiny, augmentation):
    _, _, _, model = build(tiny, model="RLMRecSGL", n_layers=2, type=augmentation)
    for graph in (model.train_graph, model.sub_graph1):
        ours, recboles = _both_forwards(model, graph)
        assert torch.allclose(ours, 3 * recboles, atol=1e-6)
    if augmentation == "RW":
        assert isinstance(model.sub_graph1, list) and len(model.sub_graph1) == 2


@pytest.mark.parametrize("augmentation", ["ED", "RW"])
def test_mean_is_recboles_sgl_exactly(tiny, augmentation):
    _, _, _, model = build(tiny, model="RLMRecSGL", layer_combination="mean", type=augmentation)
    for graph in (model.train_graph, model.sub_graph2):
        ours, recboles = _both_forwards(model, graph)
        assert torch.equal(ours, recboles)


def test_prediction_scores_grow_by_layers_plus_one_squared(tiny):
    # Same seed, same weights: the sum's scores are (L+1)^2 times the mean's.
    _, _, (_, _, test), summed = build(tiny, model="RLMRecSGL", n_layers=2)
    _, _, _, averaged = build(tiny, model="RLMRecSGL", n_layers=2, layer_combination="mean")
    assert torch.equal(summed.user_embedding.weight, averaged.user_embedding.weight)
    interaction = next(iter(test))[0]
    summed.eval()
    averaged.eval()
    with torch.no_grad():
        assert torch.allclose(summed.full_sort_predict(interaction), 9 * averaged.full_sort_predict(interaction),
                              rtol=1e-5, atol=1e-6)


def test_gradients_reach_both_embedding_tables(tiny):
    _, _, (train, _, _), model = build(tiny, model="RLMRecSGL")
    model.calculate_loss(first_batch(train)).backward()
    for table in (model.user_embedding, model.item_embedding):
        assert table.weight.grad is not None and table.weight.grad.abs().sum() > 0


def test_a_bad_layer_combination_is_refused_by_name(tiny):
    with pytest.raises(ValueError, match="layer_combination must be one of"):
        build(tiny, model="RLMRecSGL", layer_combination="max")


@pytest.mark.parametrize("aligned", ["DaRecSGL", "SGLCon", "SGLGen"])
def test_aligned_sgls_propagate_as_recboles_sgl_or_with_rlmrecs_sum(tiny, aligned):
    _, _, _, default = build(tiny, model=aligned, n_layers=2)
    assert default.layer_combination == "mean"
    ours, recboles = _both_forwards(default, default.train_graph)
    assert torch.equal(ours, recboles)
    _, _, _, summed = build(tiny, model=aligned, n_layers=2, layer_combination="sum")
    _, _, _, rlmrecs = build(tiny, model="RLMRecSGL", n_layers=2)
    assert torch.equal(summed.user_embedding.weight, rlmrecs.user_embedding.weight)
    with torch.no_grad():
        for graph_name in ("train_graph", "sub_graph1"):
            assert torch.allclose(torch.cat(summed.forward(getattr(summed, graph_name))),
                                  torch.cat(rlmrecs.forward(getattr(rlmrecs, graph_name))), atol=1e-6)


def test_an_aligned_sgl_refuses_a_bad_layer_combination_by_name(tiny):
    with pytest.raises(ValueError, match="layer_combination must be one of"):
        build(tiny, model="DaRecSGL", layer_combination="max")


RLMRECS_LOSS = {"reg_scope": "tables", "ssl_negative_items": True, "view_sampling": "step"}


def _zero_tables(model):
    with torch.no_grad():
        model.user_embedding.weight.zero_()
        model.item_embedding.weight.zero_()


def test_default_loss_is_recboles_sgl_loss(tiny):
    _, _, (train, _, _), model = build(tiny, model="RLMRecSGL", reg_weight=0.01, ssl_weight=0.1)
    assert (model.reg_scope, model.ssl_negative_items, model.view_sampling) == ("batch", False, "epoch")
    batch = first_batch(train)
    assert torch.allclose(model.calculate_loss(batch), SGL.calculate_loss(model, batch), rtol=1e-5)


@pytest.mark.parametrize("negatives", [False, True])
def test_loss_on_zero_tables_is_log2_plus_log_table_sizes(tiny, negatives):
    # Zero embeddings: every BPR pair costs ln 2, the L2 terms vanish, and every InfoNCE anchor is
    # equally similar (cos 0) to all N rows of the other view: it costs ln N.
    _, _, (train, _, _), model = build(tiny, model="RLMRecSGL", ssl_weight=0.1, reg_weight=0.5,
                                       reg_scope="tables", ssl_negative_items=negatives, view_sampling="step")
    _zero_tables(model)
    batch = first_batch(train)
    log_users, log_items = math.log(model.n_users), math.log(model.n_items)
    expected = math.log(2) + 0.1 * (log_users + log_items + (log_items if negatives else 0))
    assert model.calculate_loss(batch).item() == pytest.approx(expected, rel=1e-5)
    # RecBole's scale is the same loss summed over the batch's pairs.
    model.reg_scope = "batch"
    assert model.calculate_loss(batch).item() == pytest.approx(len(batch) * expected, rel=1e-5)


def test_table_scope_adds_reg_weight_times_the_squared_norm_of_every_row(tiny):
    _, _, (train, _, _), model = build(tiny, model="RLMRecSGL", reg_weight=0.0, **RLMRECS_LOSS)
    with torch.no_grad():
        model.user_embedding.weight.fill_(0.1)
        model.item_embedding.weight.fill_(0.1)
    batch = first_batch(train)
    torch.manual_seed(0)
    unregularised = model.calculate_loss(batch)
    model.reg_weight = 2.0
    torch.manual_seed(0)  # the same two views
    rows = model.n_users + model.n_items
    assert (model.calculate_loss(batch) - unregularised).item() == pytest.approx(2.0 * 0.01 * rows * 8, rel=1e-4)


def test_step_views_are_fresh_subsets_of_the_normalised_graph_with_its_values(tiny):
    _, _, _, model = build(tiny, model="RLMRecSGL", drop_ratio=0.3, **RLMRECS_LOSS)
    assert not hasattr(model, "sub_graph1")  # no per-epoch subgraphs are built
    full = model.train_graph.coalesce()
    full_values = dict(zip(map(tuple, full.indices().T.tolist()), full.values().tolist()))
    first, second = model.view_graphs()
    third, _ = model.view_graphs()
    for view in (first, second, third):
        kept = dict(zip(map(tuple, view.indices().T.tolist()), view.values().tolist()))
        assert kept.items() <= full_values.items()  # same entries, values neither rescaled nor re-normalised
        assert 0.5 < len(kept) / len(full_values) < 0.9  # each kept with probability 0.7
    assert not torch.equal(first.indices(), second.indices())
    assert not torch.equal(first.indices(), third.indices())


def test_epoch_views_are_recboles_subgraphs_for_the_whole_epoch(tiny):
    _, _, _, model = build(tiny, model="RLMRecSGL")
    assert model.view_graphs() == (model.sub_graph1, model.sub_graph2)
    first = model.sub_graph1
    assert model.view_graphs()[0] is first
    model.train()  # the next epoch
    assert model.view_graphs()[0] is not first


def test_gradients_reach_both_tables_under_rlmrecs_loss(tiny):
    _, _, (train, _, _), model = build(tiny, model="RLMRecSGL", **RLMRECS_LOSS)
    model.calculate_loss(first_batch(train)).backward()
    for table in (model.user_embedding, model.item_embedding):
        assert table.weight.grad is not None and table.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("key, value, expected", [("reg_scope", "rows", "must be one of"),
                                                  ("view_sampling", "batch", "must be one of"),
                                                  ("ssl_negative_items", "maybe", "must be True or False")])
def test_a_bad_loss_choice_is_refused_by_name(tiny, key, value, expected):
    with pytest.raises(ValueError, match=f"config key {key} {expected}"):
        build(tiny, model="RLMRecSGL", **{key: value})


def test_step_views_need_edge_dropout(tiny):
    with pytest.raises(ValueError, match="view_sampling: 'step' .* needs type: ED, got type: 'ND'"):
        build(tiny, model="RLMRecSGL", type="ND", view_sampling="step")


# RLMRec's SGL loss on the aligned SGLs (the choices live in SGLTerms, which all of them share)

ALIGNED_SGLS = ["DaRecSGL", "SGLCon", "SGLGen"]


@pytest.mark.parametrize("aligned", ALIGNED_SGLS)
def test_aligned_sgls_default_to_recboles_loss_and_read_rlmrecs(tiny, aligned):
    config, _, _, default = build(tiny, model=aligned)
    assert (config["reg_scope"], config["ssl_negative_items"], config["view_sampling"]) == ("batch", False, "epoch")
    assert default.base_loss_reduction == "sum"
    _, _, _, rlmrecs = build(tiny, model=aligned, **RLMRECS_LOSS)
    assert (rlmrecs.reg_scope, rlmrecs.ssl_negative_items, rlmrecs.view_sampling) == ("tables", True, "step")
    assert rlmrecs.base_loss_reduction == "mean"


@pytest.mark.parametrize("aligned", ALIGNED_SGLS)
def test_aligned_sgl_base_terms_on_zero_tables_are_rlmrecs_per_pair_loss(tiny, aligned):
    # As for RLMRecSGL above: ln 2 per pair, and ln N per InfoNCE anchor on users, positive and
    # negative items (SGLGen's mask token starts at zero too, so masking changes nothing here).
    _, _, (train, _, _), model = build(tiny, model=aligned, ssl_weight=0.1, reg_weight=0.5, **RLMRECS_LOSS)
    _zero_tables(model)
    bpr_reg, ssl = model.calculate_loss(first_batch(train))[:2]
    assert bpr_reg.item() == pytest.approx(math.log(2), rel=1e-5)
    assert ssl.item() == pytest.approx(0.1 * (math.log(model.n_users) + 2 * math.log(model.n_items)), rel=1e-5)


@pytest.mark.parametrize("aligned", ["DaRecSGL", "SGLCon"])
def test_aligned_sgl_base_terms_are_rlmrecsgls_loss_under_either_scope(tiny, aligned):
    for loss in ({}, RLMRECS_LOSS):
        _, _, (train, _, _), model = build(tiny, model=aligned, layer_combination="sum", **loss)
        _, _, _, plain = build(tiny, model="RLMRecSGL", **loss)
        assert torch.equal(model.user_embedding.weight, plain.user_embedding.weight)
        batch = first_batch(train)
        torch.manual_seed(5)  # the same per-step views, if any
        bpr_reg, ssl = model.calculate_loss(batch)[:2]
        torch.manual_seed(5)
        assert (bpr_reg + ssl).item() == pytest.approx(plain.calculate_loss(batch).item(), rel=1e-5)


@pytest.mark.parametrize("aligned", ALIGNED_SGLS)
def test_alignment_terms_are_scaled_by_the_batch_size_only_under_recboles_summed_loss(tiny, aligned):
    aligned_terms = {}
    for scope in ("batch", "tables"):
        _, _, (train, _, _), model = build(tiny, model=aligned, reg_scope=scope)
        batch = first_batch(train)
        torch.manual_seed(3)  # the same clustering / mask
        aligned_terms[scope] = model.calculate_loss(batch)[2:]
    assert len(aligned_terms["tables"]) >= 1
    for summed, averaged in zip(aligned_terms["batch"], aligned_terms["tables"]):
        assert summed.item() == pytest.approx(len(batch) * averaged.item(), rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("aligned", ALIGNED_SGLS)
def test_aligned_sgls_draw_fresh_views_every_step_under_step_sampling(tiny, aligned):
    _, _, (train, _, _), model = build(tiny, model=aligned, drop_ratio=0.3, **RLMRECS_LOSS)
    assert not hasattr(model, "sub_graph1")
    first, _ = model.view_graphs()
    second, _ = model.view_graphs()
    assert not torch.equal(first.indices(), second.indices())
    sum(model.calculate_loss(first_batch(train))).backward()
    for table in (model.user_embedding, model.item_embedding):
        assert table.weight.grad is not None and table.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("aligned", ALIGNED_SGLS)
@pytest.mark.parametrize("key, value, expected", [("reg_scope", "rows", "must be one of"),
                                                  ("view_sampling", "batch", "must be one of"),
                                                  ("ssl_negative_items", "maybe", "must be True or False")])
def test_an_aligned_sgl_refuses_a_bad_loss_choice_by_name(tiny, aligned, key, value, expected):
    with pytest.raises(ValueError, match=f"config key {key} {expected}"):
        build(tiny, model=aligned, **{key: value})
