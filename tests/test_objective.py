"""Each DaRec loss on inputs whose value can be worked out by hand."""

import math

import pytest
import torch

from recbole_darec.model.darec_objective import (
    global_alignment_loss,
    greedy_matching,
    hungarian_matching,
    local_alignment_loss,
    matched_centres,
    orthogonality_loss,
    uniformity_loss,
)
from recbole_darec.model.kmeans import cluster_means, kmeans


def test_orthogonality_is_zero_for_orthogonal_parts_and_one_for_parallel():
    specific = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    shared = torch.tensor([[0.0, 2.0], [5.0, 0.0]])
    assert orthogonality_loss(specific, shared).item() == pytest.approx(0.0)
    assert orthogonality_loss(specific, 2 * specific).item() == pytest.approx(1.0)
    # 45 degrees: cos^2 = 1/2; mixed with an orthogonal row -> mean 1/4
    assert orthogonality_loss(
        torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    ).item() == pytest.approx(0.25)


def test_uniformity_of_two_orthogonal_unit_rows_is_minus_two_t():
    rows = torch.tensor([[3.0, 0.0], [0.0, 0.5]])  # normalised: distance^2 = 2
    assert uniformity_loss(rows, t=2.0).item() == pytest.approx(-4.0)
    assert uniformity_loss(rows, t=1.0).item() == pytest.approx(-2.0)
    assert uniformity_loss(torch.ones(3, 4)).item() == pytest.approx(0.0, abs=1e-6)


def test_uniformity_averages_over_pairs():
    # Three rows: two identical (d^2 = 0) and one opposite (d^2 = 4 to both).
    rows = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    expected = math.log((1 + 2 * math.exp(-8)) / 3)
    assert uniformity_loss(rows).item() == pytest.approx(expected, rel=1e-5)


def test_uniformity_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        uniformity_loss(torch.ones(1, 3))


def test_global_alignment_by_hand():
    identity = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    same_direction = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    # cosine matrices I and all-ones differ by 1 in two of four entries -> mean 0.5
    assert global_alignment_loss(identity, same_direction).item() == pytest.approx(0.5)
    # literal: A A^T = I, B B^T = [[1, 2], [2, 4]] -> 0 + 4 + 4 + 9 = 17
    assert global_alignment_loss(identity, same_direction, "literal").item() == pytest.approx(17.0)
    assert global_alignment_loss(identity, identity).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("form", ["cosine_mean", "literal"])
def test_global_alignment_identity_equals_dense_form(form):
    torch.manual_seed(0)
    a, b = torch.randn(300, 16), torch.randn(300, 16)
    if form == "cosine_mean":
        sa, sb = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(b, dim=1)
        dense = ((sa @ sa.T - sb @ sb.T) ** 2).mean()
    else:
        dense = ((a @ a.T - b @ b.T) ** 2).sum()
    assert global_alignment_loss(a, b, form).item() == pytest.approx(dense.item(), rel=1e-5)


def test_global_alignment_rejects_unknown_form():
    with pytest.raises(ValueError, match="darec_global_form"):
        global_alignment_loss(torch.ones(2, 2), torch.ones(2, 2), "cosine")


def test_greedy_matching_recovers_a_known_permutation():
    torch.manual_seed(1)
    centres = torch.randn(8, 4) * 10
    perm = torch.tensor([3, 0, 6, 1, 7, 2, 5, 4])
    shuffled = centres[perm] + 0.01 * torch.randn(8, 4)
    found = greedy_matching(torch.cdist(centres, shuffled))
    # centre i sits at position j of `shuffled` where perm[j] == i
    assert torch.equal(perm[found], torch.arange(8))
    assert torch.equal(hungarian_matching(torch.cdist(centres, shuffled)), found)


def test_greedy_takes_the_closest_pair_first_unlike_hungarian():
    distances = torch.tensor([[0.0, 1.0], [1.0, 100.0]])
    assert greedy_matching(distances).tolist() == [0, 1]  # total 100
    assert hungarian_matching(distances).tolist() == [1, 0]  # total 2


def test_local_alignment_by_hand():
    centres = torch.eye(3)
    assert local_alignment_loss(centres, centres).item() == pytest.approx(0.0, abs=1e-7)
    # opposite partners: (S_ii - 1)^2 = 4 for each, off-diagonals still 0
    assert local_alignment_loss(centres, -centres).item() == pytest.approx(4.0)
    # all partners identical direction: diagonal ok, all 6 off-diagonals are 1
    same = torch.ones(3, 2)
    assert local_alignment_loss(same, same).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 2 centres"):
        local_alignment_loss(torch.ones(1, 2), torch.ones(1, 2))


def test_matched_local_loss_is_zero_when_both_views_have_the_same_clusters():
    torch.manual_seed(2)
    means = torch.eye(4) * 10
    rows = torch.cat([means[i] + 0.01 * torch.randn(25, 4) for i in range(4)])
    # The same points in another order: k-means numbers the clusters differently, and the
    # matching has to pair them back up.
    reordered = rows[torch.randperm(len(rows))]
    cf, llm = matched_centres(rows, reordered, n_clusters=4, n_iters=10)
    assert local_alignment_loss(cf, llm).item() == pytest.approx(0.0, abs=1e-4)


def test_kmeans_finds_separated_clusters_and_caps_k():
    torch.manual_seed(3)
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    rows = torch.cat([m + 0.1 * torch.randn(30, 2) for m in means])
    assignments, centres = kmeans(rows, 3, n_iters=10)
    for block in assignments.view(3, 30):
        assert len(set(block.tolist())) == 1
    assert len(set(assignments.tolist())) == 3
    with pytest.raises(ValueError, match="k <= number of rows"):
        kmeans(rows[:2], 3)


def test_empty_clusters_never_give_nan_and_gradients_stay_finite():
    rows = torch.ones(10, 4, requires_grad=True)  # one distinct point, four clusters
    other = torch.randn(10, 4, requires_grad=True)
    cf, llm = matched_centres(rows, other, n_clusters=4, n_iters=5)
    loss = local_alignment_loss(cf, llm)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(rows.grad).all() and torch.isfinite(other.grad).all()


def test_cluster_means_are_differentiable_and_use_fallback_for_empty():
    rows = torch.tensor([[1.0, 1.0], [3.0, 3.0]], requires_grad=True)
    fallback = torch.tensor([[9.0, 9.0], [7.0, 7.0]])
    means = cluster_means(rows, torch.tensor([0, 0]), fallback)
    assert means.tolist() == [[2.0, 2.0], [7.0, 7.0]]
    means.sum().backward()
    assert rows.grad.tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_uniformity_never_calls_pdist_and_its_gradient_matches_the_pairwise_form(monkeypatch):
    # torch.pdist's CUDA backward allocates an (N-1) N d buffer; the loss must not use it.
    rows = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    unit = torch.nn.functional.normalize(rows, dim=1)
    i, j = torch.triu_indices(7, 7, 1)
    expected = torch.logsumexp(-2.0 * (unit[i] - unit[j]).pow(2).sum(1), 0) - math.log(21)
    (expected_grad,) = torch.autograd.grad(expected, rows)

    def refuse(*args, **kwargs):
        raise AssertionError("torch.pdist called")

    monkeypatch.setattr(torch, "pdist", refuse)
    value = uniformity_loss(rows)
    (grad,) = torch.autograd.grad(value, rows)
    assert value.item() == pytest.approx(expected.item(), rel=1e-9)
    torch.testing.assert_close(grad, expected_grad)


def test_cluster_means_count_without_bincount(monkeypatch):
    # torch.bincount reads its largest label back to the host on CUDA.
    from recbole_darec.model.kmeans import cluster_means

    monkeypatch.setattr(torch, "bincount", lambda *args, **kwargs: (_ for _ in ()).throw(AssertionError("bincount")))
    rows = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    means = cluster_means(rows, torch.tensor([0, 0, 1]), torch.full((3, 2), 9.0))
    assert means.tolist() == [[2.0, 0.0], [0.0, 5.0], [9.0, 9.0]]  # the empty cluster keeps its fallback


def test_the_literal_global_term_of_half_precision_rows_stays_finite():
    # Under enable_amp the rows can be float16; the literal L_glo of 64 rows of 30s is about 1e10.
    a = torch.full((64, 8), 30.0, dtype=torch.float16)
    b = torch.zeros(64, 8, dtype=torch.float16)
    value = global_alignment_loss(a, b, form="literal")
    assert value.dtype == torch.float32 and torch.isfinite(value)
    assert value.item() == pytest.approx((64 * 900.0) ** 2 * 64, rel=1e-3)
