"""RLMRec-Con and RLMRec-Gen on LightGCN, SGL and SimGCL: losses by hand, masking, gradients, config errors."""

import math

import pytest
import torch
from recbole.quick_start import run_recbole

from conftest import tiny_config
from helpers import build, first_batch
from recbole_darec.model.contrastive import info_nce, own_rows

CON_MODELS = ["LightGCNCon", "SGLCon", "SimGCLCon"]
GEN_MODELS = ["LightGCNGen", "SGLGen", "SimGCLGen"]
BASE_NAMES = {"LightGCN": ("bpr_reg",), "SGL": ("bpr_reg", "ssl"), "SimGCL": ("bpr_reg", "cl")}


def _grad_norm(parameters):
    return sum(p.grad.abs().sum().item() for p in parameters if p.grad is not None)


def one_row_per_repeat_info_nce(anchors, positives, candidates, tau):
    r"""RLMRec's InfoNCE written out, one row per batch row: the reference for ``info_nce``."""
    anchors, positives, candidates = (torch.nn.functional.normalize(x, dim=1) for x in (anchors, positives, candidates))
    scores = anchors @ candidates.T / tau
    return (torch.logsumexp(scores, dim=1) - (anchors * positives).sum(dim=1) / tau).mean()


def test_info_nce_by_hand():
    rows = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # lengths do not matter: cosine
    # Each row: -cos(a, a) / 1 + log(e^1 + e^0).
    assert info_nce(rows, rows, own_rows(rows), 1.0).item() == pytest.approx(-1 + math.log(math.e + 1))
    # Anchor [1, 0] against candidates [0, 1], [2, 0], [-1, 0] at tau 0.5, positive column 1:
    # -2 + log(e^0 + e^2 + e^-2).
    anchor = torch.tensor([[1.0, 0.0]])
    candidates = torch.tensor([[0.0, 1.0], [2.0, 0.0], [-1.0, 0.0]])
    expected = -2 + math.log(1 + math.exp(2) + math.exp(-2))
    assert info_nce(anchor, candidates, torch.tensor([1]), 0.5).item() == pytest.approx(expected)
    # The positive's column decides which score is pulled up: column 0 gives -0 + the same log-sum.
    assert info_nce(anchor, candidates, torch.tensor([0]), 0.5).item() == pytest.approx(expected + 2)
    with pytest.raises(ValueError, match="temperature"):
        info_nce(rows, rows, own_rows(rows), 0.0)


def test_info_nce_counts_stand_for_repeated_rows():
    rows = torch.eye(2)
    counts = torch.tensor([2, 1])
    # Rows [0, 0, 1] against candidates [0, 0, 1], tau = 1: row 0 scores e^1 twice and e^0 once,
    # row 1 scores e^0 twice and e^1 once; each row's positive is one copy (score 1).
    by_hand = (2 * (-1 + math.log(2 * math.e + 1)) + (-1 + math.log(2 + math.e))) / 3
    assert info_nce(rows, rows, own_rows(rows), 1.0, counts, counts).item() == pytest.approx(by_hand)
    repeated = rows[[0, 0, 1]]
    assert info_nce(repeated, repeated, own_rows(repeated), 1.0).item() == pytest.approx(by_hand)
    # Candidates not repeated, rows with different losses: row 0 (positive itself) -1 + log(e + 1),
    # row 1 (positive the other row) 0 + log(1 + e); the mean weighs row 0 twice.
    log_sum = math.log(math.e + 1)
    assert info_nce(rows, rows, torch.tensor([0, 0]), 1.0, counts).item() == pytest.approx((2 * (-1 + log_sum) + log_sum) / 3)


def test_info_nce_equals_the_written_out_loss_with_its_gradients():
    torch.manual_seed(0)
    anchors, candidates = torch.randn(5, 3, requires_grad=True), torch.randn(7, 3, requires_grad=True)
    columns = torch.tensor([6, 0, 3, 3, 1])
    ours = info_nce(anchors, candidates, columns, 0.3)
    reference = one_row_per_repeat_info_nce(anchors, candidates[columns], candidates, 0.3)
    assert ours.item() == pytest.approx(reference.item(), rel=1e-6)
    for a, b in zip(torch.autograd.grad(ours, [anchors, candidates]), torch.autograd.grad(reference, [anchors, candidates])):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("model", CON_MODELS + GEN_MODELS)
def test_each_model_trains_an_epoch_through_run_recbole(tiny, model):
    result = run_recbole(model=model, dataset="tiny", config_dict=tiny_config(tiny))
    assert all(math.isfinite(value) for value in result["test_result"].values())


@pytest.mark.parametrize("model", CON_MODELS + GEN_MODELS)
def test_loss_terms_are_the_backbones_then_the_alignment(tiny, model):
    _, _, (train, _, _), built = build(tiny, model)
    losses = built.calculate_loss(first_batch(train))
    backbone, kind = model[:-3], model[-3:].lower()
    assert built.loss_names == BASE_NAMES[backbone] + (kind,)
    assert len(losses) == len(built.loss_names) and all(torch.isfinite(loss) for loss in losses)


@pytest.mark.parametrize("negatives", ["all", "batch"])
def test_con_is_the_weighted_infonce_of_users_positives_and_negatives(tiny, negatives):
    # One InfoNCE row per batch row, repeats included; the model computes each distinct row once.
    _, _, (train, _, _), model = build(tiny, "LightGCNCon", con_weight=0.3, con_tau=0.5, con_negatives=negatives)
    batch = first_batch(train)
    users, pos, neg = batch["user_id"], batch["item_id"], batch["neg_item_id"]
    assert len(users.unique()) < len(users) and len(pos.unique()) < len(pos)  # repeats to fold
    parameters = [model.user_embedding.weight, model.item_embedding.weight, *model.llm_to_cf.parameters()]
    loss = model.calculate_loss(batch)[-1]
    gradients = torch.autograd.grad(loss, parameters)
    user_table, item_table = model.forward()
    user_llm, item_llm = model.llm_vectors[: model.n_users], model.llm_vectors[model.n_users:]
    mapped_users = model.llm_to_cf(user_llm)
    candidates = mapped_users[1:] if negatives == "all" else mapped_users[users]
    expected = one_row_per_repeat_info_nce(user_table[users], mapped_users[users], candidates, 0.5)
    for items in (pos, neg):
        mapped = model.llm_to_cf(item_llm[items])
        expected = expected + one_row_per_repeat_info_nce(item_table[items], mapped, mapped, 0.5)
    expected = 0.3 * expected
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    for ours, reference in zip(gradients, torch.autograd.grad(expected, parameters)):
        assert torch.allclose(ours, reference, rtol=1e-4, atol=1e-7)


def test_con_on_sgl_is_scaled_by_the_batch_size_as_sgls_own_terms(tiny):
    _, _, (train, _, _), model = build(tiny, "SGLCon", con_negatives="batch")
    batch = first_batch(train)
    torch.manual_seed(0)
    summed = model.calculate_loss(batch)[-1]
    model.base_loss_reduction = "mean"
    torch.manual_seed(0)
    averaged = model.calculate_loss(batch)[-1]
    assert summed.item() == pytest.approx(len(batch) * averaged.item(), rel=1e-5)


@pytest.mark.parametrize("model", CON_MODELS)
def test_con_alone_reaches_the_embeddings_and_the_mapping(tiny, model):
    _, _, (train, _, _), built = build(tiny, model)
    built.calculate_loss(first_batch(train))[-1].backward()
    assert _grad_norm([built.user_embedding.weight]) > 0 and _grad_norm([built.item_embedding.weight]) > 0
    assert _grad_norm(built.llm_to_cf.parameters()) > 0


def _record_masks(model):
    seen = []
    propagate = model.get_ego_embeddings

    def recording():
        ego = propagate()
        seen.append((None if model._masked_rows is None else model._masked_rows.clone(), ego.detach().clone()))
        return ego

    model.get_ego_embeddings = recording
    return seen


@pytest.mark.parametrize("model, propagations", [("LightGCNGen", 1), ("SGLGen", 3), ("SimGCLGen", 3)])
def test_gen_masks_the_same_rows_in_every_propagation_of_a_step_and_never_the_padding(tiny, model, propagations):
    _, _, (train, _, _), built = build(tiny, model, gen_mask_ratio=0.25)
    with torch.no_grad():
        built.mask_token.fill_(7.0)
    seen = _record_masks(built)
    built.calculate_loss(first_batch(train))
    assert len(seen) == propagations
    rows = seen[0][0]
    assert len(rows) == round(0.25 * len(built.alignable_rows))
    assert 0 not in rows.tolist() and built.n_users not in rows.tolist()
    for masked, ego in seen:
        assert torch.equal(masked, rows)
        assert (ego[rows] == 7.0).all()
        kept = torch.ones(len(ego), dtype=torch.bool)
        kept[rows] = False
        assert not (ego[kept] == 7.0).all(dim=1).any()
    seen.clear()
    built.eval()
    built.full_sort_predict(first_batch(train))  # prediction is never masked
    assert seen and all(masked is None for masked, _ in seen)


def test_gen_is_the_weighted_infonce_of_the_masked_rows_reconstructions(tiny):
    _, _, (train, _, _), model = build(tiny, "LightGCNGen", gen_weight=0.2, gen_tau=0.5, gen_mask_ratio=0.3)
    batch = first_batch(train)
    seen = _record_masks(model)
    losses = model.calculate_loss(batch)
    rows = seen[0][0]
    model._masked_rows = rows
    user_table, item_table = model.forward()
    model._masked_rows = None
    reconstructed = model.cf_to_llm(torch.cat([user_table, item_table])[rows])
    targets = model.llm_vectors[rows]
    assert losses[-1].item() == pytest.approx(0.2 * one_row_per_repeat_info_nce(reconstructed, targets, targets, 0.5).item(), rel=1e-5)


@pytest.mark.parametrize("model", GEN_MODELS)
def test_gen_alone_reaches_the_embeddings_the_mask_token_and_the_mapping(tiny, model):
    _, _, (train, _, _), built = build(tiny, model)
    built.calculate_loss(first_batch(train))[-1].backward()
    assert _grad_norm([built.user_embedding.weight]) > 0 and _grad_norm([built.item_embedding.weight]) > 0
    assert _grad_norm([built.mask_token]) > 0
    assert _grad_norm(built.cf_to_llm.parameters()) > 0


def test_sgl_terms_propagate_as_recboles_sgl(tiny):
    from recbole.model.general_recommender.sgl import SGL

    _, _, (train, _, _), model = build(tiny, "SGLCon")
    ours = model.forward(model.train_graph)
    recboles = SGL.forward(model, model.train_graph)
    assert all(torch.allclose(a, b) for a, b in zip(ours, recboles))
    subgraph = SGL.forward(model, model.sub_graph1)
    assert all(torch.allclose(a, b) for a, b in zip(model.forward(model.sub_graph1), subgraph))


@pytest.mark.parametrize("model, key, value", [
    ("LightGCNCon", "con_tau", 0.0), ("LightGCNCon", "con_negatives", "some"),
    ("LightGCNGen", "gen_tau", -1.0), ("LightGCNGen", "gen_mask_ratio", 0.0), ("LightGCNGen", "gen_mask_ratio", 1.0),
])
def test_bad_config_names_the_key(tiny, model, key, value):
    with pytest.raises(ValueError, match=key):
        build(tiny, model, **{key: value})
