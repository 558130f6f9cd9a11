r"""
DaRecNGCF
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).
    Xiang Wang et al. "Neural Graph Collaborative Filtering." in SIGIR 2019.

NGCF (RecBole's) trained with BPR + reg + lambda * DaRec's terms. E^C is NGCF's output: the
concatenation of the ego embedding and every layer's, ``embedding_size + sum(hidden_size_list)``
wide (256 with RecBole's defaults), so the CF projectors take that width. Prediction is NGCF's own.

Config keys: NGCF's (embedding_size, hidden_size_list, node_dropout, message_dropout,
reg_weight) and the DaRec keys documented in :mod:`recbole_darec.model.darec_recommender`.
"""

from recbole.model.general_recommender.ngcf import NGCF

from recbole_darec.model.darec_recommender import DaRecRecommender


class DaRecNGCF(DaRecRecommender, NGCF):
    base_loss_names = ("bpr_reg",)
    ranks_with_representation = True

    def collaborative_dim(self, config):
        # NGCF.__init__ prepends embedding_size to hidden_size_list.
        return sum(self.hidden_size_list)
