"""AlphaRec: the language vectors as input, no ID embeddings, InfoNCE against sampled items."""

import glob
import math
import os

import pytest
import torch
from recbole.data.interaction import Interaction
from recbole.quick_start import load_data_and_model, run_recbole
from recbole.utils import get_model, get_trainer

from conftest import tiny_config, write_tiny_dataset
from helpers import build, first_batch

from recbole_darec import AlphaRec
from recbole_darec.model import alpharec
from recbole_darec.model.alpharec import alpharec_infonce


def _users(model, ids):
    return Interaction({model.USER_ID: torch.as_tensor(ids)})


def _rows_by_user(dataset):
    users = dataset.inter_feat[dataset.uid_field].tolist()
    items = dataset.inter_feat[dataset.iid_field].tolist()
    rows = {}
    for user, item in zip(users, items):
        rows.setdefault(user, set()).add(item)
    return rows


def test_recboles_entry_points_find_it_and_it_has_no_id_embeddings(tiny):
    assert get_model("AlphaRec") is AlphaRec
    _, _, _, model = build(tiny, model="AlphaRec")
    assert not any(isinstance(module, torch.nn.Embedding) for module in model.modules())
    assert [name for name, _ in model.named_parameters()] == [
        "encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias"]


def test_infonce_by_hand():
    # user (1, 0); positive (1, 0), negatives (0, 1) and (-1, 0): scores 1, 0, -1; / tau 0.5: 2, 0, -2
    expected = math.log(math.exp(2) + 1 + math.exp(-2)) - 2
    loss = alpharec_infonce(torch.tensor([1.0]), torch.tensor([[0.0, -1.0]]), 0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("items_per_negative", [10**6, 0], ids=["scores-all-items", "gathers-drawn-rows"])
def test_the_models_loss_is_infonce_over_normalised_rows_against_uniform_negatives(tiny, monkeypatch, items_per_negative):
    monkeypatch.setattr(alpharec, "FULL_SCORES_ITEMS_PER_NEGATIVE", items_per_negative)
    _, _, (train, _, _), model = build(tiny, model="AlphaRec", alpharec_negatives=7, alpharec_tau=0.3)
    batch = first_batch(train)
    torch.manual_seed(3)
    loss = model.calculate_loss(batch)
    torch.manual_seed(3)
    negative_ids = torch.randint(1, model.n_items, (len(batch), 7))
    with torch.no_grad():
        user_inputs = torch.stack([model.llm_vectors[model.n_users + torch.tensor(sorted(items))].mean(dim=0) if items else
                                   torch.zeros(model.llm_dim) for items in _train_items(model)])
        ego = model.encoder(torch.cat([user_inputs, model.llm_vectors[model.n_users:]]))
        layers = [ego]
        for _ in range(model.n_layers):
            layers.append(torch.sparse.mm(model.norm_adj_matrix, layers[-1]))
        final = torch.nn.functional.normalize(torch.stack(layers).mean(dim=0), dim=1)
        users, items = final[: model.n_users], final[model.n_users:]
        u = users[batch[model.USER_ID]]
        logits = torch.cat([(u * items[batch[model.ITEM_ID]]).sum(1, keepdim=True),
                            torch.einsum("bd,bkd->bk", u, items[negative_ids])], dim=1) / 0.3
        expected = (torch.logsumexp(logits, 1) - logits[:, 0]).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert negative_ids.min() >= 1  # never the [PAD] item


def _train_items(model):
    matrix = model.interaction_matrix.tocsr()
    return [set(matrix[u].indices.tolist()) for u in range(model.n_users)]


def test_gradients_reach_both_layers_of_the_mlp(tiny):
    _, _, (train, _, _), model = build(tiny, model="AlphaRec")
    model.calculate_loss(first_batch(train)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())


def test_a_users_input_is_the_mean_of_its_training_items_only(tiny):
    _, full, (train, valid, test), model = build(tiny, model="AlphaRec")
    train_rows, held_out = _rows_by_user(train.dataset), {}
    for part in (valid.dataset, test.dataset):
        for user, items in _rows_by_user(part).items():
            held_out.setdefault(user, set()).update(items)
    weights = model.user_item_mean.to_dense()
    checked = 0
    for user, items in train_rows.items():
        support = set(weights[user].nonzero().flatten().tolist())
        assert support == items
        assert torch.allclose(weights[user, sorted(items)], torch.full((len(items),), 1 / len(items)))
        only_held_out = held_out.get(user, set()) - items
        assert not support & only_held_out
        checked += bool(only_held_out)
    assert checked > 0  # the split holds items out of some user's input
    # And through the vectors: moving every held-out item of a user leaves that user's input alone.
    user = next(u for u in train_rows if held_out.get(u, set()) - train_rows[u])
    before = model.input_vectors()[0][user].clone()
    for item in held_out[user] - train_rows[user]:
        model.llm_vectors[model.n_users + item] += 100.0
    assert torch.equal(model.input_vectors()[0][user], before)


def test_the_graph_it_propagates_over_is_the_training_split(tiny):
    _, _, (train, _, _), model = build(tiny, model="AlphaRec")
    adjacency = model.norm_adj_matrix.coalesce().indices()
    user_to_item = adjacency[:, (adjacency[0] < model.n_users) & (adjacency[1] >= model.n_users)]
    edges = {(u, i - model.n_users) for u, i in user_to_item.t().tolist()}
    assert edges == {(u, i) for u, items in _rows_by_user(train.dataset).items() for i in items}


def test_recboles_negative_sampler_is_refused(tiny):
    with pytest.raises(ValueError, match=r"AlphaRec draws its negatives inside the loss.*train_neg_sample_args"):
        build(tiny, model="AlphaRec", train_neg_sample_args={"distribution": "uniform", "sample_num": 1})


def test_a_dataset_built_for_another_llm_user_vectors_is_refused(tiny):
    from recbole.config import Config

    from recbole_darec import DaRecLightGCN

    _, _, (train, _, _), _ = build(tiny, model="AlphaRec")  # item vectors only
    config = Config(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(tiny))
    with pytest.raises(ValueError, match="llm_user_vectors is True, but its dataset was built with False"):
        DaRecLightGCN(config, train.dataset)


def test_scores_move_when_an_items_text_moves_and_a_cold_item_is_ranked_from_its_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path), n_items=300, per_user=8)  # sparse enough for items with no training edge
    _, _, _, model = build(tmp_path, model="AlphaRec")
    model.eval()
    with torch.no_grad():
        before = model.full_sort_predict(_users(model, [1, 2, 3])).view(3, -1)
        model.restore_user_e = model.restore_item_e = None
        model.llm_vectors[model.n_users + 7] += 1.0
        after = model.full_sort_predict(_users(model, [1, 2, 3])).view(3, -1)
    assert ((after[:, 7] - before[:, 7]).abs() > 1e-6).all()
    # An item with no training edge keeps its MLP output: its score is its text's, not zero.
    cold = [i for i in range(1, model.n_items) if model.interaction_matrix.tocsc()[:, i].nnz == 0]
    assert cold  # items seen only in validation or test
    item = cold[0]
    with torch.no_grad():
        model.restore_user_e = model.restore_item_e = None
        model.llm_vectors[model.n_users + item] += 1.0
        moved = model.full_sort_predict(_users(model, [1, 2, 3])).view(3, -1)
    assert ((moved[:, item] - after[:, item]).abs() > 1e-6).all()


def test_shuffled_vectors_permute_the_items_inputs(tiny):
    _, _, _, real = build(tiny, model="AlphaRec")
    _, _, _, shuffled = build(tiny, model="AlphaRec", llm_shuffle_seed=0)
    real_items, shuffled_items = real.llm_vectors[real.n_users + 1:], shuffled.llm_vectors[shuffled.n_users + 1:]
    assert not torch.equal(real_items, shuffled_items)
    assert torch.equal(real_items.sort(dim=0).values, shuffled_items.sort(dim=0).values)


def test_its_own_user_vector_is_an_option_and_off_by_default(tiny):
    _, _, _, model = build(tiny, model="AlphaRec")
    assert not model.user_own_vectors and model.llm_vectors[: model.n_users].abs().sum() == 0
    _, _, _, with_own = build(tiny, model="AlphaRec", llm_user_vectors=True)
    users, _ = with_own.input_vectors()
    mean = torch.sparse.mm(with_own.user_item_mean, with_own.llm_vectors[with_own.n_users:])
    assert torch.allclose(users, (mean + with_own.llm_vectors[: with_own.n_users]) / 2)
    assert with_own.llm_vectors[1: with_own.n_users].abs().sum() > 0


def test_an_aligned_model_refuses_item_vectors_only(tiny):
    with pytest.raises(ValueError, match="DaRecLightGCN aligns users' vectors too: config key llm_user_vectors"):
        build(tiny, model="DaRecLightGCN", llm_user_vectors=False)


@pytest.mark.parametrize("key, value", [("alpharec_tau", 0), ("alpharec_negatives", 0), ("alpharec_hidden_size", -1)])
def test_bad_values_name_the_key(tiny, key, value):
    with pytest.raises(ValueError, match=f"config key {key} must be > 0"):
        build(tiny, model="AlphaRec", **{key: value})


def test_it_trains_through_run_recbole_and_reloads_to_the_same_test_metrics(tiny):
    result = run_recbole(model="AlphaRec", dataset="tiny", config_dict=tiny_config(tiny, epochs=2))
    (checkpoint,) = glob.glob(os.path.join(tiny, "saved", "AlphaRec-*.pth"))
    config, model, _, _, _, test_data = load_data_and_model(checkpoint)
    assert isinstance(model, AlphaRec)
    model.restore_user_e = model.restore_item_e = None
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    assert trainer.evaluate(test_data, load_best_model=False) == result["test_result"]


@pytest.mark.parametrize("own", [False, True])
def test_the_encoders_rows_are_the_mlp_of_each_input(tiny, own):
    # get_ego_embeddings averages the first layer's item rows for the users (linearity): it must
    # equal the MLP applied to input_vectors(), the mean (and own) vectors themselves.
    _, _, _, model = build(tiny, model="AlphaRec", llm_user_vectors=own)
    with torch.no_grad():
        torch.testing.assert_close(model.get_ego_embeddings(), model.encoder(torch.cat(model.input_vectors())),
                                   rtol=1e-5, atol=1e-6)
