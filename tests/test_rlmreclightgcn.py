"""RLMRecLightGCN: RecBole's LightGCN with RLMRec's layer sum and training-time edge dropout."""

import pytest
import torch
from recbole.model.general_recommender.lightgcn import LightGCN

from helpers import build
from recbole_darec.model.rlmreclightgcn import drop_edges


def _forward(model):
    with torch.no_grad():
        return torch.cat(model.forward())


def _recbole_lightgcn_forward(model):
    with torch.no_grad():
        return torch.cat(LightGCN.forward(model))


def test_defaults_are_rlmrecs(tiny):
    config, _, _, model = build(tiny, model="RLMRecLightGCN")
    assert config["layer_combination"] == "sum" and config["train_edge_keep_rate"] == 0.8
    assert (model.layer_combination, model.train_edge_keep_rate) == ("sum", 0.8)


def test_sum_is_layers_plus_one_times_recboles_mean_and_eval_uses_the_full_graph(tiny):
    _, _, _, model = build(tiny, model="RLMRecLightGCN", n_layers=2)
    model.eval()
    assert torch.allclose(_forward(model), 3 * _recbole_lightgcn_forward(model), atol=1e-6)


def test_mean_on_the_full_graph_is_recboles_lightgcn_in_training_too(tiny):
    _, _, _, model = build(tiny, model="RLMRecLightGCN", layer_combination="mean", train_edge_keep_rate=1.0)
    model.train()
    assert torch.equal(_forward(model), _recbole_lightgcn_forward(model))


def test_training_forward_drops_edges_and_evaluation_does_not(tiny):
    _, _, _, model = build(tiny, model="RLMRecLightGCN", train_edge_keep_rate=0.5)
    model.train()
    torch.manual_seed(0)
    first, second = _forward(model), _forward(model)
    assert not torch.allclose(first, second)  # a new random subgraph each training step
    model.eval()
    full = _forward(model)
    assert torch.equal(full, _forward(model))
    # Fewer edges, values not rescaled: dropped propagation has a smaller total mass than the full one.
    assert first.abs().sum() < full.abs().sum()


def test_drop_edges_keeps_a_subset_of_entries_with_their_values():
    indices = torch.tensor([[0, 0, 1, 2, 2, 3] * 500, list(range(3000))])
    values = torch.arange(3000, dtype=torch.float) + 1
    adjacency = torch.sparse_coo_tensor(indices, values, (4, 3000))
    torch.manual_seed(0)
    kept = drop_edges(adjacency, 0.8).coalesce()
    assert 0.75 < kept._nnz() / 3000 < 0.85
    full = adjacency.to_dense()
    rows, cols = kept.indices()
    assert torch.equal(kept.values(), full[rows, cols])  # the same values, not divided by 0.8
    assert torch.equal(drop_edges(adjacency, 1.0).coalesce().indices(), adjacency.coalesce().indices())


def test_gradients_reach_only_rows_of_the_kept_subgraph(tiny):
    _, _, (train, _, _), model = build(tiny, model="RLMRecLightGCN")
    loss = model.calculate_loss(next(iter(train)))
    loss.backward()
    assert model.user_embedding.weight.grad.abs().sum() > 0 and model.item_embedding.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("key, value, message", [
    ("layer_combination", "max", "layer_combination must be one of"),
    ("train_edge_keep_rate", 0.0, "train_edge_keep_rate must be in (0, 1]"),
    ("train_edge_keep_rate", 1.5, "train_edge_keep_rate must be in (0, 1]"),
])
def test_bad_settings_are_refused_naming_the_key(tiny, key, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        build(tiny, model="RLMRecLightGCN", **{key: value})
