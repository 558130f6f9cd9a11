r"""
SGLCon
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Con.
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.

SGL (RecBole's) trained with BPR + reg, its self-supervised term and RLMRec-Con's alignment of
its propagation over the full training graph. SGL sums its terms over the batch, so the
alignment term is scaled by the batch size (con_weight keeps RLMRec's meaning).

Config keys: SGL's (embedding_size, n_layers, type, drop_ratio, ssl_tau, ssl_weight, reg_weight)
and the RLMRec-Con keys documented in :mod:`recbole_darec.model.rlmrec_con_recommender`.
"""

from recbole_darec.model.rlmrec_con_recommender import RLMRecConRecommender
from recbole_darec.model.sgl_terms import SGLTerms


class SGLCon(RLMRecConRecommender, SGLTerms):
    base_loss_names = ("bpr_reg", "ssl")
    base_loss_reduction = "sum"
