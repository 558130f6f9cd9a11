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
``item_embedding`` tables themselves, and ``darec_score`` reaches BPR's row look-ups instead of a
propagation (the item table's representation is computed once per evaluation, as LightGCN's
propagation is).

Config keys: BPR's (embedding_size) and the DaRec keys documented in
:mod:`recbole_darec.model.darec_recommender`.
"""

import torch
from recbole.model.general_recommender.bpr import BPR

from recbole_darec.model.darec_recommender import DaRecRecommender


class DaRecBPR(DaRecRecommender, BPR):
    base_loss_names = ("bpr",)
    ranks_with_representation = True

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.restore_item_e = None
        self.other_parameter_name = [*self.other_parameter_name, "restore_item_e"]

    def get_user_embedding(self, user):
        return self.ranking_rows(super().get_user_embedding(user), user)

    def get_item_embedding(self, item):
        return self.ranking_rows(super().get_item_embedding(item), item + self.n_users)

    def calculate_loss(self, interaction):
        self.restore_item_e = None  # the tables change with this step
        return super().calculate_loss(interaction)

    def clean_tables(self):
        return self.user_embedding.weight, self.item_embedding.weight  # BPR aligns its tables themselves

    def ranking_tables(self):
        if self.restore_item_e is None:
            self.restore_item_e = self.ranking_rows(self.item_embedding.weight, self.item_rows)
        return self.ranking_rows(self.user_embedding.weight, self.user_rows), self.restore_item_e

    def full_sort_predict(self, interaction):
        if self.score_mode == "base":
            return super().full_sort_predict(interaction)
        if self.restore_item_e is None:
            self.restore_item_e = self.ranking_rows(self.item_embedding.weight, self.item_rows)
        user_e = self.get_user_embedding(interaction[self.USER_ID])
        return torch.matmul(user_e, self.restore_item_e.T).view(-1)
