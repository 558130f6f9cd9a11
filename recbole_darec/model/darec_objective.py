r"""
DaRec objective
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).

The disentangle-and-align losses that every DaRec model composes, computed on one sample of rows
of the collaborative representations ``E^C`` and the fixed language-model vectors ``E^L``.
Every function here is pure (no config) so each loss can be checked by hand; :class:`DaRecObjective`
reads the config keys and holds the four projectors.

Config keys (defaults in ``properties/model/DaRecRecommender.yaml``):
    darec_shared_dim, darec_hidden_dim, darec_activation, darec_disentangle,
    darec_orthogonal, darec_uniformity, darec_global, darec_local,
    darec_uniformity_rows, darec_uniformity_t, darec_global_form,
    darec_n_clusters, darec_kmeans_iters, darec_matching.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from recbole_darec.config_checks import checked_bool, checked_choice
from recbole_darec.model.kmeans import cluster_means, kmeans

LOSS_TERMS = ("orthogonal", "uniformity", "global", "local")
ACTIVATIONS = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
GLOBAL_FORMS = ("cosine_mean", "literal")
MATCHINGS = ("greedy", "hungarian")


def orthogonality_loss(specific, shared):
    r"""``mean_i cos(specific_i, shared_i)^2``: zero when every row's two parts are orthogonal."""
    return F.cosine_similarity(specific, shared, dim=1, eps=1e-8).pow(2).mean()


def uniformity_loss(rows, t=2.0):
    r"""``log mean_{i<j} exp(-t ||G(x_i) - G(x_j)||^2)`` with G the L2 normalisation (Wang & Isola).

    Computed as a log-sum-exp so that well-spread rows (tiny exponentials) stay finite.
    """
    n = rows.shape[0]
    if n < 2:
        raise ValueError(f"uniformity needs at least 2 rows, got {n}")
    # ||x_i - x_j||^2 = 2 - 2 x_i.x_j for unit rows: one N x N product. torch.pdist's backward
    # would allocate an (N-1) N d buffer (268 MB at N 1,024 and d 64 on CUDA).
    unit = F.normalize(rows, dim=1)
    squared_distances = (2 - 2 * unit @ unit.T).clamp_min(0)
    pairs = torch.ones(n, n, dtype=torch.bool, device=rows.device).triu(1)  # i < j
    logits = (-t * squared_distances).masked_fill(~pairs, float("-inf"))
    # The pair count is a Python number: no tensor built from it, so no host-to-device copy.
    return torch.logsumexp(logits.flatten(), dim=0) - math.log(n * (n - 1) / 2)


def global_alignment_loss(cf_shared, llm_shared, form="cosine_mean"):
    r"""``|| A A^T - B B^T ||_F^2`` without forming the N x N similarity matrices.

    Uses ``||A A^T - B B^T||_F^2 = ||A^T A||_F^2 - 2 ||A^T B||_F^2 + ||B^T B||_F^2``: O(N d^2)
    instead of O(N^2 d). The d x d Gram matrices are accumulated in float64 because the identity
    subtracts large, nearly equal numbers.

    ``form='cosine_mean'`` (default) normalises rows and averages over the N^2 entries;
    ``form='literal'`` is the paper's sum over unnormalised rows.
    """
    if form not in GLOBAL_FORMS:
        raise ValueError(f"darec_global_form must be one of {GLOBAL_FORMS}, got {form!r}")
    if form == "cosine_mean":
        cf_shared = F.normalize(cf_shared, dim=1)
        llm_shared = F.normalize(llm_shared, dim=1)
    a, b = cf_shared.double(), llm_shared.double()
    value = (a.T @ a).pow(2).sum() - 2 * (a.T @ b).pow(2).sum() + (b.T @ b).pow(2).sum()
    if form == "cosine_mean":
        value = value / (a.shape[0] ** 2)
    # At least float32: under autocast the rows may be float16, whose range the literal sum exceeds.
    return value.to(torch.promote_types(cf_shared.dtype, torch.float32))


def greedy_matching(distances):
    r"""DaRec's adaptive matching: repeatedly pair the closest unmatched (row, column) centres.

    Returns ``perm`` with ``perm[i]`` = the column matched to row ``i``. Runs on the tensor's own
    device without a host synchronisation (K steps of an argmin over a K x K matrix).
    """
    k = distances.shape[0]
    remaining = distances.detach().clone().float()
    perm = torch.empty(k, dtype=torch.long, device=distances.device)
    for _ in range(k):
        flat = torch.argmin(remaining).view(1)
        row, col = flat // k, flat % k
        # Index ops with 1-element device tensors: indexing with a 0-d one reads it on the host.
        perm.index_copy_(0, row, col)
        remaining.index_fill_(0, row, float("inf"))
        remaining.index_fill_(1, col, float("inf"))
    return perm


def hungarian_matching(distances):
    r"""The assignment of minimum total distance (scipy's Hungarian solver)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(distances.detach().cpu().double().numpy())
    perm = torch.empty(len(rows), dtype=torch.long)
    perm[torch.as_tensor(rows)] = torch.as_tensor(cols)
    return perm.to(distances.device)


def local_alignment_loss(cf_centres, llm_centres):
    r"""``(1/K) sum_i (S_ii - 1)^2 + 1/(K^2-K) sum_{i!=j} S_ij^2``, S the cosine similarity of the
    matched centres (row i of ``llm_centres`` is the partner of row i of ``cf_centres``)."""
    k = cf_centres.shape[0]
    if k < 2:
        raise ValueError(f"local alignment needs at least 2 centres, got {k}")
    similarity = F.normalize(cf_centres, dim=1) @ F.normalize(llm_centres, dim=1).T
    diagonal = similarity.diagonal()
    matched = (diagonal - 1).pow(2).mean()
    unmatched = (similarity.pow(2).sum() - diagonal.pow(2).sum()) / (k * k - k)
    return matched + unmatched


def matched_centres(cf_shared, llm_shared, n_clusters, n_iters, matching="greedy"):
    r"""Cluster both shared views, pair the centres, and return them differentiably.

    Assignments come from k-means under ``no_grad``; the returned centres are the means of the
    assigned rows, so gradients reach the projectors. An empty cluster falls back to its
    (constant) k-means centre instead of dividing by zero.
    """
    if matching not in MATCHINGS:
        raise ValueError(f"darec_matching must be one of {MATCHINGS}, got {matching!r}")
    cf_assign, cf_fixed = kmeans(cf_shared.detach(), n_clusters, n_iters)
    llm_assign, llm_fixed = kmeans(llm_shared.detach(), n_clusters, n_iters)
    cf_centres = cluster_means(cf_shared, cf_assign, cf_fixed)
    llm_centres = cluster_means(llm_shared, llm_assign, llm_fixed)
    match = greedy_matching if matching == "greedy" else hungarian_matching
    perm = match(torch.cdist(cf_centres.detach(), llm_centres.detach()))
    return cf_centres, llm_centres[perm]


def projector(in_dim, hidden_dim, out_dim, activation):
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), ACTIVATIONS[activation](), nn.Linear(hidden_dim, out_dim)
    )


class DaRecObjective(nn.Module):
    r"""The four projectors and the regularisation + alignment terms of DaRec.

    ``forward(cf_rows, llm_rows, sample=None)`` returns an ordered dict of the enabled,
    unweighted terms.
    """

    def __init__(self, config, cf_dim, llm_dim):
        super().__init__()
        shared_dim = config["darec_shared_dim"] or cf_dim
        hidden_dim = config["darec_hidden_dim"]
        activation = checked_choice(
            "darec_activation", str(config["darec_activation"]).lower(), sorted(ACTIVATIONS)
        )
        self.disentangle = checked_bool("darec_disentangle", config["darec_disentangle"])
        self.enabled = [term for term in LOSS_TERMS if checked_bool(f"darec_{term}", config[f"darec_{term}"])]
        if not self.disentangle:
            # Without a specific part there is nothing to be orthogonal to or to spread out.
            self.enabled = [t for t in self.enabled if t not in ("orthogonal", "uniformity")]
        self.uniformity_rows = int(config["darec_uniformity_rows"])
        self.uniformity_t = float(config["darec_uniformity_t"])
        self.global_form = checked_choice("darec_global_form", config["darec_global_form"], GLOBAL_FORMS)
        self.n_clusters = int(config["darec_n_clusters"])
        if self.n_clusters < 2:
            raise ValueError(f"config key darec_n_clusters must be >= 2, got {self.n_clusters}")
        self.kmeans_iters = int(config["darec_kmeans_iters"])
        self.matching = checked_choice("darec_matching", config["darec_matching"], MATCHINGS)

        self.cf_shared = projector(cf_dim, hidden_dim, shared_dim, activation)
        self.llm_shared = projector(llm_dim, hidden_dim, shared_dim, activation)
        if self.disentangle:
            self.cf_specific = projector(cf_dim, hidden_dim, shared_dim, activation)
            self.llm_specific = projector(llm_dim, hidden_dim, shared_dim, activation)

    def forward(self, cf_rows, llm_rows, sample=None):
        r"""Unweighted terms on ``cf_rows`` / ``llm_rows``. With ``sample`` (indices into the
        rows), L_glo sees every row and the other terms only the sampled ones; the shared
        projections are computed once either way."""
        cf_sh_all, llm_sh_all = self.cf_shared(cf_rows), self.llm_shared(llm_rows)
        if sample is None:
            cf_sh, llm_sh = cf_sh_all, llm_sh_all
        else:
            cf_rows, llm_rows = cf_rows[sample], llm_rows[sample]
            cf_sh, llm_sh = cf_sh_all[sample], llm_sh_all[sample]
        terms = {}
        if self.disentangle and ("orthogonal" in self.enabled or "uniformity" in self.enabled):
            cf_sp, llm_sp = self.cf_specific(cf_rows), self.llm_specific(llm_rows)
            if "orthogonal" in self.enabled:
                terms["orthogonal"] = orthogonality_loss(llm_sp, llm_sh) + orthogonality_loss(
                    cf_sp, cf_sh
                )
            if "uniformity" in self.enabled:
                rows = torch.randperm(cf_sp.shape[0], device=cf_sp.device)[: self.uniformity_rows]
                terms["uniformity"] = uniformity_loss(
                    cf_sp[rows], self.uniformity_t
                ) + uniformity_loss(llm_sp[rows], self.uniformity_t)
        if "global" in self.enabled:
            terms["global"] = global_alignment_loss(cf_sh_all, llm_sh_all, self.global_form)
        if "local" in self.enabled:
            cf_centres, llm_centres = matched_centres(
                cf_sh, llm_sh, self.n_clusters, self.kmeans_iters, self.matching
            )
            terms["local"] = local_alignment_loss(cf_centres, llm_centres)
        return terms
