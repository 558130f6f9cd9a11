r"""
SGLCon
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Con.
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.

SGL (RecBole's) trained with BPR + reg, its self-supervised term and RLMRec-Con's alignment of
its propagation over the full training graph. Under RecBole's loss (``reg_scope: batch``) SGL
sums its terms over the batch, so the alignment term is scaled by the batch size; under RLMRec's
(``tables``) it is not (con_weight keeps RLMRec's meaning).

Config keys: those of :class:`~recbole_darec.model.sgl_terms.SGLTerms` (SGL's, and RLMRec's SGL
[choice]s: layer_combination, reg_scope, ssl_negative_items, view_sampling) and the RLMRec-Con
keys documented in :mod:`recbole_darec.model.rlmrec_con_recommender`.
"""

from recbole_darec.model.rlmrec_con_recommender import RLMRecConRecommender
from recbole_darec.model.sgl_terms import SGLTerms


class SGLCon(RLMRecConRecommender, SGLTerms):
    base_loss_names = ("bpr_reg", "ssl")
