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


def info_nce(anchors, positives, candidates, tau):
    r"""``mean_i [ -cos(a_i, p_i) / tau + log sum_j exp(cos(a_i, c_j) / tau) ]``.

    Row i of ``positives`` is anchor i's positive; ``candidates`` are the rows every anchor is
    contrasted with (RLMRec's ``cal_infonce_loss`` divided by the number of anchors). When the
    positives are among the candidates this is the usual cross-entropy over candidates.
    """
    if tau <= 0:
        raise ValueError(f"InfoNCE temperature must be > 0, got {tau}")
    anchors, positives, candidates = (F.normalize(x, dim=1, eps=1e-8) for x in (anchors, positives, candidates))
    positive_logits = (anchors * positives).sum(dim=1) / tau
    return (torch.logsumexp(anchors @ candidates.T / tau, dim=1) - positive_logits).mean()


def mapping_mlp(in_dim, out_dim):
    r"""RLMRec's mapping: Linear(in, (in + out) // 2) -> LeakyReLU -> Linear(., out), Xavier weights."""
    hidden = (in_dim + out_dim) // 2
    mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(), nn.Linear(hidden, out_dim))
    for layer in mlp:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return mlp
