"""RLMRecSGL: RecBole's SGL with RLMRec's layer sum."""

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
