r"""
SGLTerms
################################################
Reference:
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.

RecBole's SGL, unchanged in what it computes, as the base of every aligned SGL (``DaRecSGL``,
``SGLCon``, ``SGLGen``) and of ``RLMRecSGL``: ``calculate_loss`` returns SGL's two terms,
``(bpr_reg, ssl)``, instead of their sum, so each is logged by name (``RLMRecSGL`` keeps SGL's sum); and the propagation starts from :meth:`get_ego_embeddings`
(as LightGCN's does), so RLMRec-Gen can mask ego embeddings. Not registered as a model: RecBole's
own ``SGL`` is the plain backbone.

Config key (default in ``properties/model/SGLTerms.yaml``): layer_combination (str: ``mean``, as
RecBole and the SGL paper | ``sum``, as RLMRec's SGL, on whose splits RecBole's mean misses the
published number by half; see ``RLMRecSGL``).
"""

import torch
from recbole.model.general_recommender.sgl import SGL

from recbole_darec.model.layer_combination import checked_layer_combination, combine_layers


class SGLTerms(SGL):
    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.layer_combination = checked_layer_combination(config["layer_combination"])

    def get_ego_embeddings(self):
        return torch.cat([self.user_embedding.weight, self.item_embedding.weight])

    def forward(self, graph):
        # SGL.forward with its first line replaced by get_ego_embeddings() and the layer mean a choice.
        layer = self.get_ego_embeddings()
        layers = [layer]
        for step in graph if isinstance(graph, list) else [graph] * self.n_layers:
            layer = torch.sparse.mm(step, layer)
            layers.append(layer)
        final = combine_layers(layers, self.layer_combination)
        return torch.split(final, [self.n_users, self.n_items], dim=0)

    def view_graphs(self):
        r"""The two graphs whose propagations the SSL term contrasts: RecBole's per-epoch subgraphs."""
        return self.sub_graph1, self.sub_graph2

    def propagate_for_loss(self, interaction):
        r"""The batch's user, positive and negative ids, and the propagations over the full training
        graph and over each view graph, as (user, item) pairs."""
        self.restore_user_e, self.restore_item_e = None, None
        ids = interaction[self.USER_ID], interaction[self.ITEM_ID], interaction[self.NEG_ITEM_ID]
        graph_1, graph_2 = self.view_graphs()
        return ids, self.forward(self.train_graph), self.forward(graph_1), self.forward(graph_2)

    def calculate_loss(self, interaction):
        # SGL.calculate_loss returns the sum of these two terms.
        (users, pos_items, neg_items), (user_emb, item_emb), (user_view_1, item_view_1), (
            user_view_2, item_view_2) = self.propagate_for_loss(interaction)
        bpr_reg = self.calc_bpr_loss(user_emb, item_emb, users, pos_items, neg_items)
        ssl = self.calc_ssl_loss(users, pos_items, user_view_1, user_view_2, item_view_1, item_view_2)
        return bpr_reg, ssl
