r"""
DaRecSGL
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.

SGL (RecBole's) trained with BPR + reg, its self-supervised term and lambda * DaRec's terms. E^C
is SGL's propagation over the full training graph (the one its BPR term uses); the two
subgraph views, rebuilt by SGL at the start of every training epoch, only feed its SSL term.
Prediction is SGL's own. Under RecBole's loss (``reg_scope: batch``) SGL sums its BPR and SSL
terms over the batch where LightGCN and SimGCL average them, so the DaRec terms are weighted by
lambda times the batch size; under RLMRec's (``tables``, per pair) by lambda: lambda keeps the
same meaning across backbones and losses.

Config keys: those of :class:`~recbole_darec.model.sgl_terms.SGLTerms` (SGL's, and RLMRec's SGL
[choice]s: layer_combination, reg_scope, ssl_negative_items, view_sampling) and the DaRec keys
documented in :mod:`recbole_darec.model.darec_recommender`.
"""

from recbole_darec.model.darec_recommender import DaRecRecommender
from recbole_darec.model.sgl_terms import SGLTerms


class DaRecSGL(DaRecRecommender, SGLTerms):
    base_loss_names = ("bpr_reg", "ssl")
    ranks_with_representation = True
