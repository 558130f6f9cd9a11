r"""What an aligned model aligns: E^C is the backbone's clean propagation, the one its ranking loss
and its prediction use, never a contrastive view, whatever order the backbone computes them in."""

import pytest
import torch

from helpers import build, first_batch

ALIGNED = ["DaRecLightGCN", "DaRecSGL", "DaRecSimGCL", "LightGCNCon", "SGLCon", "SimGCLCon"]


def clean_propagation(model):
    with torch.no_grad():
        return model.forward(model.train_graph) if hasattr(model, "train_graph") else model.forward()


def aligned_tables(model, batch):
    seen = {}
    original = model.alignment_losses

    def spy(user_table, item_table, interaction):
        seen["tables"] = (user_table.detach().clone(), item_table.detach().clone())
        return original(user_table, item_table, interaction)

    model.alignment_losses = spy
    model.calculate_loss(batch)
    return seen["tables"]


@pytest.mark.parametrize("name", ALIGNED)
def test_aligned_tables_are_the_backbones_clean_forward(tiny, name):
    _, _, (train, _, _), model = build(tiny, model=name)
    users, items = aligned_tables(model, first_batch(train))
    clean_users, clean_items = clean_propagation(model)
    assert torch.equal(users, clean_users) and torch.equal(items, clean_items)


@pytest.mark.parametrize("name, noisy_call", [
    ("DaRecSimGCL", lambda model: model.forward(perturbed=True)),
    ("DaRecSGL", lambda model: model.forward(model.view_graphs()[0])),
])
def test_a_view_computed_before_the_clean_propagation_is_not_aligned(tiny, name, noisy_call):
    _, _, (train, _, _), model = build(tiny, model=name)
    original = model.base_loss

    def views_first(interaction):
        noisy_call(model)  # the contrastive view first: E^C must still be the clean propagation
        return original(interaction)

    model.base_loss = views_first
    users, items = aligned_tables(model, first_batch(train))
    clean_users, clean_items = clean_propagation(model)
    assert torch.equal(users, clean_users) and torch.equal(items, clean_items)


def test_a_backbone_that_calls_no_propagation_clean_is_refused_not_aligned_with_a_guess(tiny):
    _, _, (train, _, _), model = build(tiny, model="DaRecSGL")
    model.is_clean_forward = lambda args, kwargs: False
    with pytest.raises(TypeError, match="never from a call that is_clean_forward"):
        model.calculate_loss(first_batch(train))
