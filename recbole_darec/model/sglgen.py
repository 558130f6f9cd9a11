r"""
SGLGen
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Gen.
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.

SGL (RecBole's) trained with BPR + reg and its self-supervised term on masked ego embeddings
(all three propagations see the same mask), and RLMRec-Gen's reconstruction from the full-graph
propagation. The reconstruction term is scaled by the batch size under RecBole's loss
(``reg_scope: batch``, summed over the batch), not under RLMRec's (``tables``, per pair).

Config keys: those of :class:`~recbole_darec.model.sgl_terms.SGLTerms` (SGL's, and RLMRec's SGL
[choice]s: layer_combination, reg_scope, ssl_negative_items, view_sampling) and the RLMRec-Gen
keys documented in :mod:`recbole_darec.model.rlmrec_gen_recommender`.
"""

from recbole_darec.model.rlmrec_gen_recommender import RLMRecGenRecommender
from recbole_darec.model.sgl_terms import SGLTerms


class SGLGen(RLMRecGenRecommender, SGLTerms):
    base_loss_names = ("bpr_reg", "ssl")
