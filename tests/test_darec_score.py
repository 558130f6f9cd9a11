"""darec_score (what a DaRec model ranks with) and darec_pointwise_weight, on every DaRec backbone."""

import copy
import glob
import os

import pytest
import torch
from recbole.data.interaction import Interaction
from recbole.quick_start import load_data_and_model, run_recbole
from recbole.utils import get_trainer

from conftest import tiny_config
from helpers import build, first_batch
from test_aligned_tables import aligned_tables

from recbole_darec import DaRecBPR
from recbole_darec.model.contrastive import info_nce

BACKBONES = ["DaRecLightGCN", "DaRecSGL", "DaRecSimGCL", "DaRecBPR", "DaRecNGCF"]
MODES = ["disentangled", "fused"]

# Recorded with the code before darec_score existed (commit 94cdf10~1), under torch 2.13.0+cpu (its
# random streams and summation order decide the digits): three Adam steps (lr 0.01) of the summed
# loss on the first batches, then the sum and absolute sum of full_sort_predict for users 1-5. The
# code of this commit gives the same float32 values bit for bit on the machine that recorded them;
# the tolerance only absorbs another CPU's summation order.
RECORDED_UNDER = "2.13.0+cpu"
BEFORE_DAREC_SCORE = {
    "DaRecLightGCN": ([0.6257830858230591, 0.5307275056838989, 0.4671724736690521], -0.10437217354774475,
                      3.2788166999816895),
    "DaRecSGL": ([109.57167053222656, 96.45838165283203, 89.0370101928711], 0.09447064995765686,
                 1.8385119438171387),
    "DaRecSimGCL": ([2.103245973587036, 1.7797319889068604, 1.5943667888641357], 0.19927099347114563,
                    0.710142195224762),
    "DaRecBPR": ([0.6932213306427002, 0.583238422870636, 0.5338943600654602], 1.0204461812973022,
                 18.666439056396484),
    "DaRecNGCF": ([0.5441726446151733, 0.44960325956344604, 0.3657602071762085], 334.04998779296875,
                  334.5424499511719),
}


def _users(model, ids):
    return Interaction({model.USER_ID: torch.as_tensor(ids)})


def _trajectory(model, train):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for step, batch in enumerate(train):
        if step == 3:
            break
        loss = sum(model.calculate_loss(batch))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        scores = model.full_sort_predict(_users(model, range(1, 6))).view(5, -1)[:, 1:]
    return losses, scores.sum().item(), scores.abs().sum().item()


@pytest.mark.skipif(torch.__version__ != RECORDED_UNDER, reason=f"values recorded under torch {RECORDED_UNDER}")
@pytest.mark.parametrize("name", BACKBONES)
def test_base_ranks_and_trains_exactly_as_before_the_switch_existed(tiny, name):
    _, _, (train, _, _), model = build(tiny, model=name, darec_score="base")
    losses, total, magnitude = _trajectory(model, train)
    expected_losses, expected_total, expected_magnitude = BEFORE_DAREC_SCORE[name]
    assert losses == pytest.approx(expected_losses, rel=1e-6)
    assert (total, magnitude) == pytest.approx((expected_total, expected_magnitude), rel=1e-6, abs=1e-6)


def _grad_norm(module):
    return sum(p.grad.abs().sum().item() for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("mode", ["base", *MODES])
def test_the_ranking_loss_trains_the_projectors_that_rank(tiny, name, mode):
    _, _, (train, _, _), model = build(tiny, model=name, darec_score=mode)
    sum(model.base_loss(first_batch(train))).backward()  # the base model's own loss alone
    reached = {part: _grad_norm(getattr(model.darec, part)) > 0
               for part in ("cf_shared", "cf_specific", "llm_shared", "llm_specific")}
    assert reached == {"cf_shared": mode != "base", "cf_specific": mode != "base",
                       "llm_shared": mode == "fused", "llm_specific": mode == "fused"}


def _raw_tables(model):
    r"""E^C as the backbone computes it, without darec_score's representation."""
    return model.clean_tables()


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("mode", MODES)
def test_prediction_ranks_with_the_modes_representation_and_predict_agrees(tiny, name, mode):
    _, _, (train, _, _), model = build(tiny, model=name, darec_score=mode)
    model.eval()
    users, items = torch.tensor([1, 2, 3, 3]), torch.tensor([4, 9, 1, 30])
    with torch.no_grad():
        full = model.full_sort_predict(_users(model, users)).view(len(users), -1)
        pointwise = model.predict(Interaction({model.USER_ID: users, model.ITEM_ID: items}))
        user_table, item_table = _raw_tables(model)
        d = model.darec
        # By hand, from the raw tables and the four projectors: Theorem 2's parts, or the shared
        # parts averaged over both sides then both specific parts.
        user_llm, item_llm = model.llm_vectors[users], model.llm_vectors[model.n_users:]
        if mode == "disentangled":
            user_rows = torch.cat([d.cf_shared(user_table[users]), d.cf_specific(user_table[users])], dim=1)
            item_rows = torch.cat([d.cf_shared(item_table), d.cf_specific(item_table)], dim=1)
        else:
            user_rows = torch.cat([(d.cf_shared(user_table[users]) + d.llm_shared(user_llm)) / 2,
                                   d.cf_specific(user_table[users]), d.llm_specific(user_llm)], dim=1)
            item_rows = torch.cat([(d.cf_shared(item_table) + d.llm_shared(item_llm)) / 2,
                                   d.cf_specific(item_table), d.llm_specific(item_llm)], dim=1)
    assert user_rows.shape[1] == (2 if mode == "disentangled" else 3) * model.cf_dim  # d_s: the CF width
    torch.testing.assert_close(full, user_rows @ item_rows.T, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(pointwise, full[torch.arange(len(users)), items], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("mode", MODES)
def test_darec_still_aligns_the_backbones_own_tables(tiny, name, mode):
    deterministic = {"node_dropout": 0.0, "message_dropout": 0.0} if name == "DaRecNGCF" else {}
    _, _, (train, _, _), model = build(tiny, model=name, darec_score=mode, **deterministic)
    aligned = aligned_tables(model, first_batch(train))
    with torch.no_grad():
        raw = _raw_tables(model)
    assert all(torch.equal(a, b) for a, b in zip(aligned, raw))


@pytest.mark.parametrize("name, reg_scope", [("DaRecLightGCN", None), ("DaRecSGL", "batch"), ("DaRecSGL", "tables"),
                                             ("DaRecSimGCL", "batch"), ("DaRecSimGCL", "tables")])
@pytest.mark.parametrize("mode", ["base", *MODES])
def test_the_regulariser_penalises_the_rows_that_rank(tiny, name, reg_scope, mode):
    scope = {"reg_scope": reg_scope} if reg_scope else {}
    _, _, (train, _, _), model = build(tiny, model=name, darec_score=mode, **scope)
    model = copy.deepcopy(model)  # a copy penalises its own representation, not the original's
    batch = first_batch(train)

    def bpr_and_regulariser(reg_weight):
        model.reg_weight = reg_weight
        torch.manual_seed(0)
        return model.base_loss(batch)[0].item()

    penalty = bpr_and_regulariser(1.0) - bpr_and_regulariser(0.0)
    with torch.no_grad():
        users, items = _raw_tables(model)
        if mode == "base":  # the ego rows, as the backbone has it
            users, items = model.user_embedding.weight, model.item_embedding.weight
        else:
            users, items = model.ranking_rows(users, model.user_rows), model.ranking_rows(items, model.item_rows)
        if reg_scope == "tables":
            expected = users.square().sum() + items.square().sum()
        else:
            ids = batch[model.USER_ID], batch[model.ITEM_ID], batch[model.NEG_ITEM_ID]
            require_pow = {"require_pow": model.require_pow} if hasattr(model, "require_pow") else {}
            expected = model.reg_loss(users[ids[0]], items[ids[1]], items[ids[2]], **require_pow)
    assert penalty == pytest.approx(expected.item(), rel=1e-3)


@pytest.mark.parametrize("name", ["DaRecLightGCN", "DaRecSGL", "DaRecSimGCL", "DaRecNGCF"])
@pytest.mark.parametrize("mode", MODES)
def test_the_ranking_loss_is_bpr_on_the_representation_projecting_only_the_rows_it_reads(tiny, name, mode):
    deterministic = {"node_dropout": 0.0, "message_dropout": 0.0} if name == "DaRecNGCF" else {}
    _, _, (train, _, _), model = build(tiny, model=name, darec_score=mode, train_batch_size=8, **deterministic)
    model.reg_weight = 0.0
    batch = first_batch(train)
    projected = []
    hook = model.darec.cf_specific.register_forward_hook(lambda module, inputs, output: projected.append(len(inputs[0])))
    torch.manual_seed(0)
    bpr = model.base_loss(batch)[0]
    hook.remove()
    ids = batch[model.USER_ID], batch[model.ITEM_ID], batch[model.NEG_ITEM_ID]
    assert len(ids[0]) == 8 and model.n_users + model.n_items > 3 * 8
    # users, positives, negatives, each distinct row once: not every user and item
    assert projected == [len(torch.unique(side)) for side in ids]
    with torch.no_grad():
        users, items = _raw_tables(model)
        users, items = model.ranking_rows(users, model.user_rows), model.ranking_rows(items, model.item_rows)
        gaps = (users[ids[0]] * items[ids[1]]).sum(dim=1) - (users[ids[0]] * items[ids[2]]).sum(dim=1)
        reduce = torch.sum if name == "DaRecSGL" else torch.mean  # RecBole's SGL sums BPR over the batch
        expected = -reduce(torch.nn.functional.logsigmoid(gaps))
    assert bpr.item() == pytest.approx(expected.item(), rel=1e-4)


@pytest.mark.parametrize("name, term", [("DaRecSGL", 1), ("DaRecSimGCL", 1)])
@pytest.mark.parametrize("mode", MODES)
def test_the_backbones_contrastive_views_stay_on_its_own_tables(tiny, name, term, mode):
    _, _, (train, _, _), model = build(tiny, model=name, darec_score=mode)
    model.base_loss(first_batch(train))[term].backward()  # SGL's ssl / SimGCL's cl alone
    assert _grad_norm(model.darec) == 0
    assert model.user_embedding.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["DaRecLightGCN", "DaRecSGL", "DaRecBPR"])
def test_fused_scores_move_with_a_rows_own_text_and_no_other_rows(tiny, name):
    _, _, _, model = build(tiny, model=name, darec_score="fused")
    model.eval()
    users = _users(model, [1, 2, 5])

    def scores():
        model.restore_user_e = model.restore_item_e = None  # cached tables follow llm_vectors only when reset
        return model.full_sort_predict(users).view(3, -1)

    with torch.no_grad():
        before = scores()
        model.llm_vectors[model.n_users + 7] += 1.0  # item 7's language vector
        after_item = scores()
        model.llm_vectors[2] += 1.0  # user 2's
        after_user = scores()
    assert ((after_item - before).abs().amax(dim=0) > 1e-6).nonzero().flatten().tolist() == [7]
    assert ((after_user - after_item).abs().amax(dim=1) > 1e-6).tolist() == [False, True, False]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["DaRecLightGCN", "DaRecBPR"])
def test_load_data_and_model_reloads_each_mode_to_the_runs_test_metrics(tiny, name, mode):
    result = run_recbole(model=name, dataset="tiny", config_dict=tiny_config(tiny, darec_score=mode, epochs=2))
    (checkpoint,) = glob.glob(os.path.join(tiny, "saved", f"{name}-*.pth"))
    config, model, _, _, _, test_data = load_data_and_model(checkpoint)
    assert model.score_mode == mode
    model.restore_user_e = model.restore_item_e = None  # rank from the reloaded projectors, not a saved cache
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    assert trainer.evaluate(test_data, load_best_model=False) == result["test_result"]


@pytest.mark.parametrize("overrides, message", [
    ({"darec_score": "shared"}, r"darec_score.*'shared'"),
    ({"darec_score": "fused", "darec_disentangle": False},
     r"DaRecLightGCN: darec_score: fused ranks with the specific parts.*darec_disentangle"),
    ({"darec_pointwise_weight": -0.5}, r"darec_pointwise_weight must be >= 0, got -0.5"),
    ({"darec_pointwise_weight": 0.1, "darec_pointwise_tau": 0}, r"darec_pointwise_tau must be > 0"),
])
def test_bad_values_name_the_key(tiny, overrides, message):
    with pytest.raises(ValueError, match=message):
        build(tiny, **overrides)


@pytest.mark.parametrize("mode", MODES)
def test_a_model_that_does_not_rank_with_the_representation_refuses_the_new_modes(tiny, mode, monkeypatch):
    from recbole_darec import DaRecLightGCN

    build(tiny, darec_score=mode)
    # As a DaRec-enabled model whose forward is not a (user, item) pair declares itself (the default).
    monkeypatch.setattr(DaRecLightGCN, "ranks_with_representation", False)
    with pytest.raises(ValueError, match=rf"DaRecLightGCN: darec_score: {mode} needs a base model that ranks"):
        build(tiny, darec_score=mode)
    build(tiny, darec_score="base")


def test_pointwise_term_is_cons_in_batch_infonce_on_the_shared_parts(tiny):
    _, _, (train, _, _), model = build(tiny, darec_pointwise_weight=0.3, darec_weight=0.1, darec_pointwise_tau=0.5)
    assert model.loss_names == ("bpr_reg", "orthogonal", "uniformity", "global", "local", "pointwise")
    batch = first_batch(train)
    losses = model.calculate_loss(batch)
    # By hand, one anchor per batch row, repeats and all: users among the batch's users, positive
    # items among the positives, negatives among the negatives.
    users, items = model.forward()
    expected = 0
    for table, offset, ids in ((users, 0, batch[model.USER_ID]), (items, model.n_users, batch[model.ITEM_ID]),
                               (items, model.n_users, batch[model.NEG_ITEM_ID])):
        cf_shared = model.darec.cf_shared(table[ids])
        llm_shared = model.darec.llm_shared(model.llm_vectors[ids + offset])
        expected = expected + info_nce(cf_shared, llm_shared, torch.arange(len(ids)), 0.5)
    assert losses[-1].item() == pytest.approx(0.3 * expected.item(), rel=1e-4)
    model.sample_rows = lambda interaction: model.alignable_rows[-64:]  # DaRec's own sample plays no part
    assert model.calculate_loss(batch)[-1].item() == pytest.approx(losses[-1].item(), rel=1e-6)
    losses[-1].backward()
    assert _grad_norm(model.darec.cf_shared) > 0 and _grad_norm(model.darec.llm_shared) > 0
    assert _grad_norm(model.darec.cf_specific) == 0  # the shared parts only
    assert "pointwise" not in build(tiny)[3].loss_names  # off by default
