r"""
RLMRecSGL
################################################
Reference:
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950): the SGL of its code (``encoder/models/general_cf/sgl.py``),
    whose numbers fill its Table 1.

RecBole's SGL (the same subgraph views, rebuilt every epoch, the same BPR, regularisation and
self-supervised terms, ``full_sort_predict``) with RLMRec's layer combination as a config key.
RLMRec's SGL, like its LightGCN, *sums* the layers 0..L where RecBole's averages them; on
RLMRec's Yelp split that one choice moved LightGCN by +12% Recall@20 (docs/datasets.md), so
RecBole's SGL cannot be expected to reach RLMRec's SGL numbers either. Unlike RLMRec's LightGCN,
RLMRec's SGL trains its BPR term on the full graph, as RecBole's does: there is no edge dropout
key here.

The propagation is the aligned SGLs' (:class:`SGLTerms`), whose ``layer_combination`` key this model
defaults to RLMRec's ``sum``.

Config keys (defaults in ``properties/model/RLMRecSGL.yaml``): SGL's (embedding_size, n_layers,
type, drop_ratio, ssl_tau, ssl_weight, reg_weight), layer_combination (str: ``sum`` | ``mean``).
"""

from recbole.model.general_recommender.sgl import SGL

from recbole_darec.model.sgl_terms import SGLTerms


class RLMRecSGL(SGLTerms):
    r"""SGL as RLMRec trains it: the propagated layers are summed (switchable)."""

    # A plain backbone returns SGL's one summed loss, not the aligned SGLs' named terms.
    calculate_loss = SGL.calculate_loss
