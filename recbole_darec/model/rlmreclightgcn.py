r"""
RLMRecLightGCN
################################################
Reference:
    Xiangnan He et al. "LightGCN: Simplifying and Powering Graph Convolution Network for
    Recommendation." in SIGIR 2020.
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950): the LightGCN of its code (``encoder/models/general_cf/lightgcn.py``),
    whose numbers fill its Table 1.

RecBole's LightGCN (same normalised adjacency, embeddings, BPR + L2 regularisation,
``full_sort_predict``) with the two training choices in which RLMRec's LightGCN differs, as
config keys. On RLMRec's Yelp split they are worth +12% Recall@20 (3 seeds, docs/datasets.md):
RecBole's LightGCN stays 13% under RLMRec's published LightGCN there, this model comes within 2.2%.

* ``layer_combination``: how the layers 0..L are combined. ``mean`` is RecBole's (and the
  LightGCN paper's); ``sum`` is RLMRec's. Summing makes every score (L+1)^2 times larger, so
  the BPR sigmoid leaves its flat centre far sooner at the same learning rate.
* ``train_edge_keep_rate``: each training forward propagates over a random subset of the
  normalised adjacency's entries (each kept with this probability, values not rescaled, as in
  RLMRec); 1.0 disables it. Evaluation always uses the full graph.

Config keys (defaults, RLMRec's, in ``properties/model/RLMRecLightGCN.yaml``): LightGCN's
(embedding_size, n_layers, reg_weight, require_pow), layer_combination (str: ``sum`` | ``mean``),
train_edge_keep_rate (float in (0, 1]).
"""

import torch
from recbole.model.general_recommender.lightgcn import LightGCN

from recbole_darec.model.layer_combination import checked_layer_combination, combine_layers


def drop_edges(adjacency, keep_rate):
    r"""A copy of the sparse ``adjacency`` holding each stored entry with probability ``keep_rate``."""
    adjacency = adjacency.coalesce()
    kept = torch.rand(adjacency._nnz(), device=adjacency.device) < keep_rate
    # A subset of a coalesced tensor's entries is still sorted and unique: no need to re-check or re-sort.
    return torch.sparse_coo_tensor(adjacency.indices()[:, kept], adjacency.values()[kept], adjacency.shape,
                                   check_invariants=False, is_coalesced=True)


class RLMRecLightGCN(LightGCN):
    r"""LightGCN as RLMRec trains it: layers summed, edges dropped in training (both switchable)."""

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.layer_combination = checked_layer_combination(config["layer_combination"])
        self.train_edge_keep_rate = float(config["train_edge_keep_rate"])
        # Coalesced once, so that each training step only draws which entries to keep.
        self.norm_adj_matrix = self.norm_adj_matrix.coalesce()
        if not 0 < self.train_edge_keep_rate <= 1:
            raise ValueError(f"config key train_edge_keep_rate must be in (0, 1], got {self.train_edge_keep_rate}")

    def forward(self):
        adjacency = self.norm_adj_matrix
        if self.training and self.train_edge_keep_rate < 1:
            adjacency = drop_edges(adjacency, self.train_edge_keep_rate)
        embeddings = self.get_ego_embeddings()
        layers = [embeddings]
        for _ in range(self.n_layers):
            embeddings = torch.sparse.mm(adjacency, embeddings)
            layers.append(embeddings)
        final = combine_layers(layers, self.layer_combination)
        user_embeddings, item_embeddings = torch.split(final, [self.n_users, self.n_items])
        return user_embeddings, item_embeddings
