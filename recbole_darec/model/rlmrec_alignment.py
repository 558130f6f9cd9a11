r"""
RLMRec alignment losses
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950).

The two point-wise alignments DaRec argues against, as pure functions (each checkable by hand)
and the MLP both use: RLMRec-Con pulls each user's and item's collaborative vector towards the
language-model vector mapped into the collaborative space; RLMRec-Gen maps the propagated
vectors of masked users and items into the language-model space and asks each to pick out its
own language-model vector.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def info_nce(anchors, positives, candidates, tau, anchor_counts=None, candidate_counts=None):
    r"""``mean_i [ -cos(a_i, p_i) / tau + log sum_j exp(cos(a_i, c_j) / tau) ]``.

    Row i of ``positives`` is anchor i's positive; ``candidates`` are the rows every anchor is
    contrasted with (RLMRec's ``cal_infonce_loss`` divided by the number of anchors). When the
    positives are among the candidates this is the usual cross-entropy over candidates.

    ``anchor_counts[i]`` (``candidate_counts[j]``) says how many identical rows anchor/positive
    row i (candidate j) stands for: the value and gradients are those of the rows repeated
    (``log sum_j`` gains ``log count_j``, the mean weighs row i by its count), at the cost of the
    distinct rows only. A batch repeats popular items, and its B x B logits are most of
    RLMRec-Con's step (run_scripts/bench_con.py).
    """
    if tau <= 0:
        raise ValueError(f"InfoNCE temperature must be > 0, got {tau}")
    anchors, positives, candidates = (F.normalize(x, dim=1, eps=1e-8) for x in (anchors, positives, candidates))
    anchors = anchors / tau  # once per anchor, not once per logit
    logits = anchors @ candidates.T
    if candidate_counts is not None:
        logits = logits + candidate_counts.to(logits.dtype).log()
    per_anchor = torch.logsumexp(logits, dim=1) - (anchors * positives).sum(dim=1)
    if anchor_counts is None:
        return per_anchor.mean()
    weights = anchor_counts.to(per_anchor.dtype)
    return (per_anchor * weights).sum() / weights.sum()


def mapping_mlp(in_dim, out_dim):
    r"""RLMRec's mapping: Linear(in, (in + out) // 2) -> LeakyReLU -> Linear(., out), Xavier weights."""
    hidden = (in_dim + out_dim) // 2
    mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(), nn.Linear(hidden, out_dim))
    for layer in mlp:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return mlp
