r"""
RLMRecSGL
################################################
Reference:
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950): the SGL of its code (``encoder/models/general_cf/sgl.py``),
    whose numbers fill its Table 1.

RecBole's SGL (the same subgraph views, rebuilt every epoch, the same BPR, regularisation and
self-supervised terms, ``full_sort_predict``) with RLMRec's layer combination as a config key.
RLMRec's SGL, like its LightGCN, *sums* the layers 0..L where RecBole's averages them; on
RLMRec's Yelp split that one choice moved LightGCN by +12% Recall@20 (docs/datasets.md), so
RecBole's SGL cannot be expected to reach RLMRec's SGL numbers either. Unlike RLMRec's LightGCN,
RLMRec's SGL trains its BPR term on the full graph, as RecBole's does: there is no edge dropout
key here.

Config keys (defaults in ``properties/model/RLMRecSGL.yaml``): SGL's (embedding_size, n_layers,
type, drop_ratio, ssl_tau, ssl_weight, reg_weight), layer_combination (str: ``sum`` | ``mean``).
"""

import torch
from recbole.model.general_recommender.sgl import SGL

from recbole_darec.model.layer_combination import checked_layer_combination, combine_layers


class RLMRecSGL(SGL):
    r"""SGL as RLMRec trains it: the propagated layers are summed (switchable)."""

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.layer_combination = checked_layer_combination(config["layer_combination"])

    def forward(self, graph):
        # ``graph`` is one adjacency for every layer, or (random-walk views) one per layer, as in SGL.
        per_layer = graph if isinstance(graph, list) else [graph] * self.n_layers
        embeddings = torch.cat([self.user_embedding.weight, self.item_embedding.weight])
        layers = [embeddings]
        for adjacency in per_layer:
            embeddings = torch.sparse.mm(adjacency, embeddings)
            layers.append(embeddings)
        final = combine_layers(layers, self.layer_combination)
        user_embeddings, item_embeddings = torch.split(final, [self.n_users, self.n_items])
        return user_embeddings, item_embeddings
