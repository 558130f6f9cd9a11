r"""
DaRecLightGCN
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).
    Xiangnan He et al. "LightGCN: Simplifying and Powering Graph Convolution Network for
    Recommendation." in SIGIR 2020.

LightGCN (RecBole's) trained with BPR + lambda * DaRec's terms. E^C is LightGCN's layer-averaged
propagated embedding; ``full_sort_predict`` is LightGCN's own, so serving costs the same.

Config keys: LightGCN's (embedding_size, n_layers, reg_weight, require_pow) and the DaRec keys
documented in :mod:`recbole_darec.model.darec_recommender`.
"""

from recbole.model.general_recommender.lightgcn import LightGCN

from recbole_darec.model.darec_recommender import DaRecRecommender


class DaRecLightGCN(DaRecRecommender, LightGCN):
    base_loss_names = ("bpr_reg",)
    ranks_with_representation = True
