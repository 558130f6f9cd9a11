r"""
LightGCNGen
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Gen.
    Xiangnan He et al. "LightGCN: Simplifying and Powering Graph Convolution Network for
    Recommendation." in SIGIR 2020.

LightGCN (RecBole's) trained with BPR + reg on a graph whose masked users' and items' ego
embeddings are a learned token, and RLMRec-Gen's reconstruction of their language-model vectors;
prediction is LightGCN's own, unmasked.

Config keys: LightGCN's (embedding_size, n_layers, reg_weight, require_pow)
and the RLMRec-Gen keys documented in :mod:`recbole_darec.model.rlmrec_gen_recommender`.
"""

from recbole.model.general_recommender.lightgcn import LightGCN

from recbole_darec.model.rlmrec_gen_recommender import RLMRecGenRecommender


class LightGCNGen(RLMRecGenRecommender, LightGCN):
    base_loss_names = ("bpr_reg",)
