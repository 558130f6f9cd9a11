"""The DaRec family: SimGCL, DaRecSGL, DaRecSimGCL, DaRecBPR, DaRecNGCF and user-made DaRec models."""

import math
import os

import pytest
import torch
from recbole.model.general_recommender.neumf import NeuMF
from recbole.model.general_recommender.spectralcf import SpectralCF
from recbole.quick_start import run_recbole

from conftest import tiny_config
from helpers import build, first_batch
from recbole_darec import DaRecRecommender, DaRecSGL, SimGCL, register_model
from recbole_darec.model.contrastive import info_nce, own_rows
from recbole_darec.model.simgcl import direction_preserving_noise, info_nce_against_all

DAREC_FAMILY = ["DaRecSGL", "DaRecSimGCL", "DaRecBPR", "DaRecNGCF"]
DAREC_TERMS = ("orthogonal", "uniformity", "global", "local")


def _grad_norm(parameters):
    return sum(p.grad.abs().sum().item() for p in parameters if p.grad is not None)


@pytest.mark.parametrize("model", ["SimGCL"] + DAREC_FAMILY)
def test_each_model_trains_an_epoch_through_run_recbole(tiny, model):
    result = run_recbole(model=model, dataset="tiny", config_dict=tiny_config(tiny))
    assert set(result["test_result"]) == {"recall@5", "ndcg@5"}
    assert all(math.isfinite(value) for value in result["test_result"].values())


@pytest.mark.parametrize(
    "model, base_names",
    [("DaRecSGL", ("bpr_reg", "ssl")), ("DaRecSimGCL", ("bpr_reg", "cl")),
     ("DaRecBPR", ("bpr",)), ("DaRecNGCF", ("bpr_reg",))],
)
def test_loss_terms_are_named_base_terms_then_darec_terms(tiny, model, base_names):
    _, _, (train, _, _), built = build(tiny, model)
    losses = built.calculate_loss(first_batch(train))
    assert built.loss_names == base_names + DAREC_TERMS
    assert len(losses) == len(built.loss_names)
    assert all(loss.numel() == 1 and torch.isfinite(loss).all() for loss in losses)


def _base_parameters(model):
    darec = {id(p) for p in model.darec.parameters()}
    return [p for p in model.parameters() if id(p) not in darec]


@pytest.mark.parametrize("model", DAREC_FAMILY)
def test_darec_terms_alone_reach_the_base_embeddings_and_all_four_projectors(tiny, model):
    _, _, (train, _, _), built = build(tiny, model)
    losses = built.calculate_loss(first_batch(train))
    n_base = len(built.base_loss_names)
    sum(losses[n_base:]).backward()
    assert _grad_norm([built.user_embedding.weight]) > 0
    assert _grad_norm([built.item_embedding.weight]) > 0
    for projector in ("cf_shared", "cf_specific", "llm_shared", "llm_specific"):
        assert _grad_norm(getattr(built.darec, projector).parameters()) > 0, projector


def test_darec_terms_reach_ngcfs_own_layers(tiny):
    _, _, (train, _, _), model = build(tiny, "DaRecNGCF", message_dropout=0.0)
    losses = model.calculate_loss(first_batch(train))
    sum(losses[1:]).backward()
    assert _grad_norm(model.GNNlayers.parameters()) > 0


@pytest.mark.parametrize("model", ["DaRecSGL", "DaRecSimGCL"])
def test_the_contrastive_term_alone_reaches_the_embeddings_but_not_the_projectors(tiny, model):
    _, _, (train, _, _), built = build(tiny, model)
    losses = built.calculate_loss(first_batch(train))
    losses[1].backward()
    assert losses[1] > 0
    assert _grad_norm([built.user_embedding.weight, built.item_embedding.weight]) > 0
    assert _grad_norm(built.darec.parameters()) == 0


def test_ngcf_tables_are_its_concatenated_layers(tiny):
    _, _, _, model = build(tiny, "DaRecNGCF", hidden_size_list=[6, 10])
    assert model.cf_dim == 8 + 6 + 10
    assert model.darec.cf_shared[0].in_features == 24
    assert model.darec.cf_shared[-1].out_features == 24  # darec_shared_dim ~ = the table width


# SimGCL

def test_noise_keeps_every_sign_and_has_norm_eps_per_row():
    torch.manual_seed(0)
    embeddings = torch.randn(50, 16)
    noise = direction_preserving_noise(embeddings, eps=0.1)
    assert torch.equal(torch.sign(noise), torch.sign(embeddings))
    assert torch.allclose(noise.norm(dim=1), torch.full((50,), 0.1), atol=1e-6)
    assert torch.equal(torch.sign(embeddings + noise), torch.sign(embeddings))


def test_noise_is_zero_where_the_embedding_is_zero_and_differs_between_calls():
    embeddings = torch.tensor([[1.0, 0.0, -2.0], [0.0, 0.0, 0.0]])
    noise = direction_preserving_noise(embeddings, eps=0.5)
    assert noise[0, 1] == 0 and torch.all(noise[1] == 0)
    assert noise[0, 0] > 0 and noise[0, 2] < 0
    assert not torch.equal(direction_preserving_noise(embeddings, 0.5), noise)


def test_info_nce_on_hand_checkable_views():
    # Orthonormal rows, identical views, tau = 1: logits = I, so each row's loss is
    # -log(e / (e + n - 1)).
    views = torch.eye(4)
    assert info_nce(views, views, own_rows(views), 1.0).item() == pytest.approx(-math.log(math.e / (math.e + 3)))
    # The views are cosine-normalised first: scaling a row changes nothing.
    assert info_nce(3 * views, views, own_rows(views), 1.0).item() == pytest.approx(-math.log(math.e / (math.e + 3)))
    # Swapped positives (row i matches row 1 - i): positive logit 0, one negative at 1/tau.
    swapped = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    expected = -math.log(1 / (1 + math.exp(1 / 0.5)))
    assert info_nce(torch.eye(2), swapped, own_rows(swapped), 0.5).item() == pytest.approx(expected)


@pytest.mark.parametrize("include_ego, layer_combination, expected_weights", [
    (False, "mean", (0, 1 / 2, 1 / 2)),
    (True, "mean", (1 / 3, 1 / 3, 1 / 3)),
    (True, "sum", (1, 1, 1)),  # RLMRec's SimGCL
    (False, "sum", (0, 1, 1)),
])
def test_simgcl_final_embedding_combines_the_propagated_layers_and_optionally_the_ego_layer(
        tiny, include_ego, layer_combination, expected_weights):
    _, _, _, model = build(tiny, "SimGCL", n_layers=2, include_ego=include_ego,
                           layer_combination=layer_combination)
    adjacency = model.norm_adj_matrix.to_dense()
    ego = model.get_ego_embeddings()
    layer_1 = adjacency @ ego
    layer_2 = adjacency @ layer_1
    users, items = model.forward()
    expected = sum(weight * layer for weight, layer in zip(expected_weights, (ego, layer_1, layer_2)))
    assert torch.allclose(torch.cat([users, items]), expected, atol=1e-6)


def test_simgcl_loss_is_bpr_plus_weighted_infonce_of_two_noisy_views(tiny):
    _, _, (train, _, _), model = build(tiny, "SimGCL", cl_weight=0.3)
    batch = first_batch(train)
    torch.manual_seed(11)
    bpr_reg, cl = model.calculate_loss(batch)
    torch.manual_seed(11)
    assert cl.item() == pytest.approx(0.3 * model.contrastive_loss(batch).item(), rel=1e-6)
    model.eps = 0.0  # without noise both views are the clean propagation, and it is deterministic
    clean_users, clean_items = model.forward()
    views = model.forward(perturbed=True)
    assert torch.equal(views[0], clean_users) and torch.equal(views[1], clean_items)
    assert bpr_reg > 0 and cl > 0


def test_simgcl_defaults_are_the_papers(tiny):
    config, _, _, model = build(tiny, "SimGCL", embedding_size=8)
    assert (config["eps"], config["cl_weight"], config["cl_tau"], config["n_layers"]) == (0.1, 0.5, 0.2, 2)
    assert config["include_ego"] is False and config["layer_combination"] == "mean"
    assert (config["reg_scope"], config["cl_negatives"]) == ("batch", "batch")
    assert (model.eps, model.cl_weight, model.cl_tau) == (0.1, 0.5, 0.2)


def test_info_nce_against_all_rows_on_hand_checkable_views():
    # Four orthonormal rows, anchors 0, 0 and 2 (a repeat kept), tau = 1: each anchor's positive
    # logit is 1 and its three negatives (all other rows, not only the batch's) are 0.
    everyone = torch.eye(4)
    rows = torch.tensor([0, 0, 2])
    expected = -math.log(math.e / (math.e + 3))
    assert info_nce_against_all(everyone, everyone, rows, 1.0).item() == pytest.approx(expected)
    # Against the batch's unique rows only (SimGCL's default), the same anchors have 1 negative.
    assert info_nce(everyone[[0, 2]], everyone[[0, 2]], torch.arange(2), 1.0).item() == pytest.approx(
        -math.log(math.e / (math.e + 1)))
    # A negative only the whole table holds changes the loss: row 3 of view 2 made equal to row 0.
    view_2 = everyone.clone()
    view_2[3] = view_2[0]
    assert info_nce_against_all(everyone, view_2, torch.tensor([0]), 1.0).item() == pytest.approx(
        -math.log(math.e / (2 * math.e + 2)))


def test_info_nce_against_all_counts_a_repeated_row_once_per_repeat():
    # Row 3 of view 2 equals row 0, so anchor 0 has loss -log(e / (2e + 2)) and anchor 2 has
    # -log(e / (e + 3)); rows [0, 0, 2] weigh the first twice, as RLMRec's one logits row per repeat.
    view_2 = torch.eye(4)
    view_2[3] = view_2[0]
    first, second = -math.log(math.e / (2 * math.e + 2)), -math.log(math.e / (math.e + 3))
    loss = info_nce_against_all(torch.eye(4), view_2, torch.tensor([0, 0, 2]), 1.0)
    assert loss.item() == pytest.approx((2 * first + second) / 3)


def test_info_nce_against_all_has_the_gradient_of_one_logits_row_per_repeat():
    torch.manual_seed(0)
    view_1, view_2 = torch.randn(30, 8, requires_grad=True), torch.randn(30, 8, requires_grad=True)
    rows = torch.tensor([4, 4, 4, 9, 0, 9, 29])
    anchors = torch.nn.functional.normalize(view_1[rows], dim=-1)
    logits = anchors @ torch.nn.functional.normalize(view_2, dim=-1).T / 0.2
    reference = torch.nn.functional.cross_entropy(logits, rows)
    expected = torch.autograd.grad(reference, (view_1, view_2))
    loss = info_nce_against_all(view_1, view_2, rows, 0.2)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-6)
    for got, want in zip(torch.autograd.grad(loss, (view_1, view_2)), expected):
        assert torch.allclose(got, want, atol=1e-7)


def test_simgcl_reg_scope_tables_is_bpr_plus_the_squared_norm_of_both_whole_tables(tiny):
    _, _, (train, _, _), model = build(tiny, "SimGCL", reg_scope="tables", reg_weight=0.01)
    batch = first_batch(train)
    torch.manual_seed(3)
    bpr_reg, _ = model.calculate_loss(batch)
    tables = model.user_embedding.weight.square().sum() + model.item_embedding.weight.square().sum()
    assert bpr_reg.item() == pytest.approx(model.bpr_loss(batch).item() + 0.01 * tables.item(), rel=1e-6)
    # The batch scope on the same weights is RecBole's LightGCN loss, a different number.
    model.reg_scope = "batch"
    batch_bpr_reg, _ = model.calculate_loss(batch)
    assert batch_bpr_reg.item() == pytest.approx(model.bpr_loss(batch).item() + 0.01 * model.reg_loss(
        model.user_embedding(batch[model.USER_ID]), model.item_embedding(batch[model.ITEM_ID]),
        model.item_embedding(batch[model.NEG_ITEM_ID])).item(), rel=1e-6)
    assert batch_bpr_reg.item() != pytest.approx(bpr_reg.item(), rel=1e-6)


def test_simgcl_reg_scope_tables_decays_every_row_and_batch_only_the_batchs(tiny):
    # BPR and InfoNCE switched off (no layers' worth of signal: cl_weight 0, and BPR's gradient
    # removed by comparing with reg_weight 0), the rest of the gradient is the L2 term's alone.
    gradients = {}
    for scope in ("batch", "tables"):
        _, _, (train, _, _), model = build(tiny, "SimGCL", reg_scope=scope, cl_weight=0.0)
        batch = first_batch(train)
        per_weight = []
        for weight in (0.0, 1.0):
            model.reg_weight = weight
            model.zero_grad()
            sum(model.calculate_loss(batch)).backward()
            per_weight.append(model.user_embedding.weight.grad.clone())
        gradients[scope] = (per_weight[1] - per_weight[0], model.user_embedding.weight.detach(), batch)
    l2_grad, weights, _ = gradients["tables"]
    assert torch.allclose(l2_grad, 2 * weights, atol=1e-6)
    l2_grad, _, batch = gradients["batch"]
    outside = torch.ones(len(l2_grad), dtype=torch.bool)
    outside[batch["user_id"]] = False
    assert outside.any() and torch.all(l2_grad[outside] == 0) and l2_grad[~outside].abs().sum() > 0


def test_simgcl_cl_negatives_all_contrasts_every_batch_row_against_all_rows(tiny):
    _, _, (train, _, _), model = build(tiny, "SimGCL", cl_negatives="all", eps=0.0)
    batch = first_batch(train)
    users, items = model.forward()  # eps 0: both views are the clean propagation
    expected = info_nce_against_all(users, users, batch[model.USER_ID], model.cl_tau) + \
        info_nce_against_all(items, items, batch[model.ITEM_ID], model.cl_tau)
    assert model.contrastive_loss(batch).item() == pytest.approx(expected.item(), rel=1e-6)
    model.cl_negatives = "batch"
    assert model.contrastive_loss(batch).item() != pytest.approx(expected.item(), rel=1e-3)


@pytest.mark.parametrize("key, value", [("eps", -0.1), ("cl_tau", 0.0), ("n_layers", 0),
                                        ("layer_combination", "max"), ("reg_scope", "rows"),
                                        ("cl_negatives", "some")])
def test_simgcl_bad_config_names_the_key(tiny, key, value):
    with pytest.raises(ValueError, match=key):
        build(tiny, "SimGCL", **{key: value})


# SGL

def test_sgl_subgraphs_are_rebuilt_every_training_epoch(tiny, monkeypatch):
    seen = []
    original = DaRecSGL.graph_construction

    def recording(self):
        original(self)
        seen.append(self.sub_graph1.coalesce().indices().clone())

    monkeypatch.setattr(DaRecSGL, "graph_construction", recording)
    run_recbole(model="DaRecSGL", dataset="tiny", config_dict=tiny_config(tiny, epochs=3, drop_ratio=0.3))
    assert len(seen) >= 3
    shapes_or_edges = {(tuple(s.shape), tuple(s.flatten().tolist())) for s in seen}
    assert len(shapes_or_edges) == len(seen)


def test_darec_sgl_weights_its_darec_terms_by_lambda_times_the_batch_size(tiny):
    # RecBole's SGL sums over the batch; the others average.
    _, _, (train, _, _), model = build(tiny, "DaRecSGL", darec_weight=0.2)
    batch = first_batch(train)
    torch.manual_seed(3)
    weighted = model.calculate_loss(batch)[2:]
    torch.manual_seed(3)
    model.darec_weight = 1.0
    model.base_loss_reduction = "mean"
    unweighted = model.calculate_loss(batch)[2:]
    for w, u in zip(weighted, unweighted):
        assert w.item() == pytest.approx(0.2 * len(batch) * u.item(), rel=1e-4, abs=1e-7)


def test_darec_sgl_base_terms_are_sgls_own_loss(tiny):
    _, _, (train, _, _), model = build(tiny, "DaRecSGL")
    batch = first_batch(train)
    bpr_reg, ssl = model.calculate_loss(batch)[:2]
    from recbole.model.general_recommender.sgl import SGL

    assert (bpr_reg + ssl).item() == pytest.approx(SGL.calculate_loss(model, batch).item(), rel=1e-6)


# Any RecBole general model

class DaRecSpectralCF(DaRecRecommender, SpectralCF):
    base_loss_names = ("bpr_reg",)

    def collaborative_dim(self, config):
        return self.emb_dim * (self.n_layers + 1)


class DaRecSpectralCFWrongWidth(DaRecRecommender, SpectralCF):
    pass


class DaRecNeuMF(DaRecRecommender, NeuMF):
    pass


def test_a_user_defined_darec_model_registers_and_trains_through_run_recbole(tiny):
    register_model(DaRecSpectralCF)
    result = run_recbole(model="DaRecSpectralCF", dataset="tiny",
                         config_dict=tiny_config(tiny, n_layers=1))
    assert math.isfinite(result["test_result"]["ndcg@5"])


def test_tables_of_the_wrong_width_are_a_clear_error(tiny):
    register_model(DaRecSpectralCFWrongWidth)
    _, _, (train, _, _), model = build(tiny, "DaRecSpectralCFWrongWidth", n_layers=1)
    with pytest.raises(ValueError, match=r"collaborative_dim\(\)"):
        model.calculate_loss(first_batch(train))


def test_a_model_without_embedding_tables_is_refused_with_a_clear_error(tiny):
    register_model(DaRecNeuMF)
    with pytest.raises(TypeError, match="NeuMF has no nn.Embedding attributes user_embedding"):
        build(tiny, "DaRecNeuMF")


def test_register_model_refuses_recboles_own_names_and_a_second_class_of_the_same_name():
    class BPR(SimGCL):
        pass

    with pytest.raises(ValueError, match="RecBole has its own model of that name"):
        register_model(BPR)

    class SimGCL_(SimGCL):
        pass

    SimGCL_.__name__ = "simgcl"
    with pytest.raises(ValueError, match="already registered"):
        register_model(SimGCL_)


def _documented(section, key):
    import re

    import yaml

    match = re.search(rf"^\| `{key}` \| `([^`]*)` \|", section, re.MULTILINE)
    # The same loader as model_defaults: RecBole's Config teaches yaml.FullLoader to read 1e-4 as
    # a float once any Config exists, so both sides must be parsed alike.
    return None if match is None else ("found", yaml.load(match.group(1), Loader=yaml.FullLoader))


def test_docs_list_every_model_with_its_config_keys_and_defaults():
    from recbole.utils import get_model

    from recbole_darec import MODEL_MODULES
    from recbole_darec.registry import model_defaults

    with open(os.path.join(os.path.dirname(__file__), "..", "docs", "models.md"), encoding="utf-8") as f:
        sections = {part.split("\n", 1)[0].strip(): part for part in f.read().split("\n## ")[1:]}
    from recbole_darec import RLMRecConRecommender, RLMRecGenRecommender

    shared = {"DaRec keys": model_defaults(DaRecRecommender),
              "RLMRec-Con keys": model_defaults(RLMRecConRecommender),
              "RLMRec-Gen keys": model_defaults(RLMRecGenRecommender)}
    for section, defaults in shared.items():
        for key, value in defaults.items():
            if section == "DaRec keys" or not key.startswith("llm_"):
                assert _documented(sections[section], key) == ("found", value), (section, key)
    shared_keys = set().union(*shared.values())
    for name in MODEL_MODULES:
        assert name in sections, name
        for key, value in model_defaults(get_model(name)).items():
            if key not in shared_keys:
                assert _documented(sections[name], key) == ("found", value), (name, key)
