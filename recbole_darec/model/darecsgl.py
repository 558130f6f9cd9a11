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
Prediction is SGL's own. RecBole's SGL sums its BPR and SSL terms over the batch where LightGCN
and SimGCL average them, so the DaRec terms are weighted by lambda times the batch size: lambda
keeps the same meaning across backbones.

Config keys: SGL's (embedding_size, n_layers, type, drop_ratio, ssl_tau, ssl_weight, reg_weight)
and the DaRec keys documented in :mod:`recbole_darec.model.darec_recommender`.
"""

from recbole.model.general_recommender.sgl import SGL

from recbole_darec.model.darec_recommender import DaRecRecommender


class DaRecSGL(DaRecRecommender, SGL):
    base_loss_names = ("bpr_reg", "ssl")
    base_loss_reduction = "sum"

    def base_loss(self, interaction):
        # SGL.calculate_loss returns the sum; the same two calls, kept apart for the log.
        self.restore_user_e, self.restore_item_e = None, None
        users = interaction[self.USER_ID]
        pos_items = interaction[self.ITEM_ID]
        neg_items = interaction[self.NEG_ITEM_ID]
        user_emb, item_emb = self.forward(self.train_graph)
        user_view_1, item_view_1 = self.forward(self.sub_graph1)
        user_view_2, item_view_2 = self.forward(self.sub_graph2)
        bpr_reg = self.calc_bpr_loss(user_emb, item_emb, users, pos_items, neg_items)
        ssl = self.calc_ssl_loss(users, pos_items, user_view_1, user_view_2, item_view_1, item_view_2)
        return bpr_reg, ssl
