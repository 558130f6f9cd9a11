r"""
DaRecBPR
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).
    Steffen Rendle et al. "BPR: Bayesian Personalized Ranking from Implicit Feedback." in UAI 2009.

Matrix factorisation (RecBole's BPR) trained with BPR + lambda * DaRec's terms: the smallest
example of DaRec-enabling a RecBole general recommender. BPR has no propagation and its
``forward`` returns the batch's rows, so the mixin aligns its ``user_embedding`` /
``item_embedding`` tables themselves.

Config keys: BPR's (embedding_size) and the DaRec keys documented in
:mod:`recbole_darec.model.darec_recommender`.
"""

from recbole.model.general_recommender.bpr import BPR

from recbole_darec.model.darec_recommender import DaRecRecommender


class DaRecBPR(DaRecRecommender, BPR):
    base_loss_names = ("bpr",)
