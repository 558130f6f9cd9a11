"""darec_score (what a DaRec model ranks with) and darec_pointwise_weight, on every DaRec backbone."""

import glob
import os

import pytest
import torch
from recbole.data.interaction import Interaction
from recbole.quick_start import load_data_and_model, run_recbole
from recbole.utils import get_trainer

from conftest import tiny_config
from helpers import build, first_batch
from recbole_darec.model.contrastive import info_nce, own_rows

BACKBONES = ["DaRecLightGCN", "DaRecSGL", "DaRecSimGCL", "DaRecBPR", "DaRecNGCF"]
MODES = ["disentangled", "fused"]

# Recorded with the code before darec_score existed: three Adam steps (lr 0.01) of the summed loss
# on the first batches, then the sum and absolute sum of full_sort_predict for users 1-5.
BEFORE_DAREC_SCORE = {
    "DaRecLightGCN": ([0.625783, 0.530728, 0.467172], -0.10437, 3.27882),
    "DaRecSGL": ([109.571671, 96.458382, 89.03701], 0.09447, 1.83851),
    "DaRecSimGCL": ([2.103246, 1.779732, 1.594367], 0.19927, 0.71014),
    "DaRecBPR": ([0.693221, 0.583238, 0.533894], 1.02045, 18.66644),
    "DaRecNGCF": ([0.544173, 0.449603, 0.36576], 334.04999, 334.54245),
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


@pytest.mark.parametrize("name", BACKBONES)
def test_base_ranks_and_trains_exactly_as_before_the_switch_existed(tiny, name):
    _, _, (train, _, _), model = build(tiny, model=name, darec_score="base")
    losses, total, magnitude = _trajectory(model, train)
    expected_losses, expected_total, expected_magnitude = BEFORE_DAREC_SCORE[name]
    assert losses == pytest.approx(expected_losses, rel=1e-5)
    assert (total, magnitude) == pytest.approx((expected_total, expected_magnitude), rel=1e-4, abs=1e-4)


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


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("mode", MODES)
def test_predict_agrees_with_full_sort_predict_and_ranks_with_the_mode(tiny, name, mode):
    _, _, (train, _, _), model = build(tiny, model=name, darec_score=mode)
    model.eval()
    users, items = torch.tensor([1, 2, 3, 3]), torch.tensor([4, 9, 1, 30])
    with torch.no_grad():
        full = model.full_sort_predict(_users(model, users)).view(len(users), -1)
        pointwise = model.predict(Interaction({model.USER_ID: users, model.ITEM_ID: items}))
        base_width = model.cf_dim
        width = model.ranking_rows(torch.zeros(1, base_width), torch.tensor([1])).shape[1]
    torch.testing.assert_close(pointwise, full[torch.arange(len(users)), items], rtol=1e-5, atol=1e-5)
    assert width == (2 if mode == "disentangled" else 3) * base_width  # darec_shared_dim: the CF width


@pytest.mark.parametrize("name", ["DaRecLightGCN", "DaRecBPR"])
def test_fused_scores_of_an_item_move_with_its_own_text_and_no_other_items(tiny, name):
    _, _, _, model = build(tiny, model=name, darec_score="fused")
    model.eval()
    users = _users(model, [1, 2, 5])
    with torch.no_grad():
        before = model.full_sort_predict(users).view(3, -1)
        model.llm_vectors[model.n_users + 7] += 1.0  # item 7's language vector
        model.restore_user_e = model.restore_item_e = None  # the tables are computed again
        after = model.full_sort_predict(users).view(3, -1)
    changed = (after - before).abs().amax(dim=0) > 1e-6
    assert changed.nonzero().flatten().tolist() == [7]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["DaRecLightGCN", "DaRecBPR"])
def test_load_data_and_model_reloads_each_mode_to_the_runs_test_metrics(tiny, name, mode):
    result = run_recbole(model=name, dataset="tiny", config_dict=tiny_config(tiny, darec_score=mode, epochs=2))
    (checkpoint,) = glob.glob(os.path.join(tiny, "saved", f"{name}-*.pth"))
    config, model, _, _, _, test_data = load_data_and_model(checkpoint)
    assert model.score_mode == mode
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


def test_pointwise_term_is_infonce_of_the_shared_parts_at_its_own_weight(tiny):
    _, _, (train, _, _), model = build(tiny, darec_pointwise_weight=0.3, darec_weight=0.1,
                                       darec_pointwise_tau=0.5)
    assert model.loss_names == ("bpr_reg", "orthogonal", "uniformity", "global", "local", "pointwise")
    rows = model.alignable_rows[:64]
    model.sample_rows = lambda interaction: rows
    batch = first_batch(train)
    losses = model.calculate_loss(batch)
    users, items = model.forward()
    cf_rows = torch.cat([users, items])[rows]
    cf_shared, llm_shared = model.darec.cf_shared(cf_rows), model.darec.llm_shared(model.llm_vectors[rows])
    expected = 0.3 * info_nce(cf_shared, llm_shared, own_rows(cf_shared), 0.5)
    assert losses[-1].item() == pytest.approx(expected.item(), rel=1e-5)
    losses[-1].backward()
    assert _grad_norm(model.darec.cf_shared) > 0 and _grad_norm(model.darec.llm_shared) > 0
    assert _grad_norm(model.darec.cf_specific) == 0  # the term sees the shared parts only
    assert "pointwise" not in build(tiny)[3].loss_names  # off by default
