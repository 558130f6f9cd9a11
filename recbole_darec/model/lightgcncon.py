r"""
LightGCNCon
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Con.
    Xiangnan He et al. "LightGCN: Simplifying and Powering Graph Convolution Network for
    Recommendation." in SIGIR 2020.

LightGCN (RecBole's) trained with BPR + reg and RLMRec-Con's contrastive alignment of its
layer-averaged propagated embeddings; prediction is LightGCN's own.

Config keys: LightGCN's (embedding_size, n_layers, reg_weight, require_pow)
and the RLMRec-Con keys documented in :mod:`recbole_darec.model.rlmrec_con_recommender`.
"""

from recbole.model.general_recommender.lightgcn import LightGCN

from recbole_darec.model.rlmrec_con_recommender import RLMRecConRecommender


class LightGCNCon(RLMRecConRecommender, LightGCN):
    base_loss_names = ("bpr_reg",)
