r"""
InfoNCE
################################################
Reference:
    Aaron van den Oord et al. "Representation Learning with Contrastive Predictive Coding."
    arXiv 1807.03748, 2018.

The one contrastive loss SimGCL's views and RLMRec's Con / Gen alignments share, on cosine
similarities at a temperature, with counts that let a batch's repeated rows be scored once.
"""

import torch
import torch.nn.functional as F


def info_nce(anchors, candidates, positive_columns, tau, anchor_counts=None, candidate_counts=None):
    r"""``mean_i [ -cos(a_i, c_{p_i}) / tau + log sum_j exp(cos(a_i, c_j) / tau) ]``, p_i =
    ``positive_columns[i]``: anchor i picks out its positive among all ``candidates`` (RLMRec's
    ``cal_infonce_loss`` divided by the number of anchors). SimGCL's two views, RLMRec-Con and
    RLMRec-Gen all take this form: their positives are always among the candidates.

    ``anchor_counts[i]`` (``candidate_counts[j]``) says how many identical rows anchor i
    (candidate j) stands for: the value and gradients are those of the rows repeated
    (``log sum_j`` gains ``log count_j``, the mean weighs row i by its count), at the cost of the
    distinct rows only. A batch repeats popular items and users, and the logits are most of
    RLMRec-Con's and SimGCL's step (run_scripts/bench_con.py, bench_infonce.py).
    """
    if tau <= 0:
        raise ValueError(f"InfoNCE temperature must be > 0, got {tau}")
    anchors = F.normalize(anchors, dim=1, eps=1e-8) / tau  # once per anchor, not once per logit
    logits = anchors @ F.normalize(candidates, dim=1, eps=1e-8).T
    if candidate_counts is not None:
        log_counts = candidate_counts.to(logits.dtype).log()
        logits = logits + log_counts
    # cross_entropy fuses the log-softmax: 1.2x faster than logsumexp minus the positive's score.
    per_anchor = F.cross_entropy(logits, positive_columns, reduction="none")
    if candidate_counts is not None:
        # The positive is one copy, not count copies: remove its log count from its logit.
        per_anchor = per_anchor + log_counts[positive_columns]
    if anchor_counts is None:
        return per_anchor.mean()
    weights = anchor_counts.to(per_anchor.dtype)
    return (per_anchor * weights).sum() / weights.sum()


def own_rows(rows):
    r"""Positive columns when anchor i's positive is candidate i (``info_nce``'s usual case)."""
    return torch.arange(len(rows), device=rows.device)
