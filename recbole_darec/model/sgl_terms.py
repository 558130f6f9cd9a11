r"""
SGLTerms
################################################
Reference:
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950): the SGL of its code (``encoder/models/general_cf/sgl.py``).

RecBole's SGL as the base of every aligned SGL (``DaRecSGL``, ``SGLCon``, ``SGLGen``) and of
``RLMRecSGL``. By default it computes what RecBole's SGL computes; three differences from it:

* ``calculate_loss`` returns SGL's two terms, ``(bpr_reg, ssl)``, instead of their sum, so each is
  logged by name (``RLMRecSGL`` returns their sum, as SGL does);
* the propagation starts from :meth:`get_ego_embeddings` (as LightGCN's does), so RLMRec-Gen can
  mask ego embeddings;
* the four choices in which RLMRec's SGL differs from RecBole's are config keys, so that every
  SGL, aligned or not, can be trained with RLMRec's loss:

  - ``layer_combination``: RecBole *averages* the layers 0..L, RLMRec *sums* them;
  - ``reg_scope``: ``batch`` is RecBole's loss, summed over the batch, with the L2 norms of the
    batch's ego rows over the batch size; ``tables`` is RLMRec's, per training pair: mean BPR +
    ``reg_weight`` x the squared norm of both *whole* tables (a weight decay on every row at every
    step), and the SSL terms over the batch size. An aligned model's alignment terms are means over
    rows, so under ``batch`` they are scaled by the batch size (``base_loss_reduction``) and under
    ``tables`` they are not: their weights mean the same on every backbone and scope;
  - ``ssl_negative_items``: RLMRec's InfoNCE has a third term, the batch's negative items' two
    views against all items, besides the users' and the positive items';
  - ``view_sampling``: ``epoch`` is RecBole's two subgraphs, edges dropped from the interactions
    and the rest re-normalised, once per epoch; ``step`` is RLMRec's, two fresh views per training
    step, each keeping every entry of the normalised training adjacency with probability
    ``1 - drop_ratio`` (values not rescaled or re-normalised). ``step`` drops edges, so it takes
    ``type: ED``.

Not registered as a model: RecBole's own ``SGL`` is the plain backbone.

Config keys (defaults in ``properties/model/SGLTerms.yaml``, after RecBole's SGL.yaml): SGL's
(embedding_size, n_layers, type, drop_ratio, ssl_tau, ssl_weight, reg_weight), layer_combination
(str: ``mean`` | ``sum``), reg_scope (str: ``batch`` | ``tables``), ssl_negative_items (bool),
view_sampling (str: ``epoch`` | ``step``). The defaults are RecBole's; ``layer_combination: sum``,
``reg_scope: tables``, ``ssl_negative_items: True``, ``view_sampling: step`` is RLMRec's SGL
(docs/models.md#rlmrecsgl).
"""

import torch
import torch.nn.functional as F
from recbole.model.general_recommender.sgl import SGL

from recbole_darec.config_checks import checked_bool, checked_choice
from recbole_darec.model.layer_combination import checked_layer_combination, combine_layers
from recbole_darec.model.rlmreclightgcn import drop_edges
from recbole_darec.model.simgcl import REG_SCOPES, ego_tables, info_nce_against_all, table_l2

VIEW_SAMPLINGS = ("epoch", "step")


class SGLTerms(SGL):
    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.view_sampling = checked_choice("view_sampling", config["view_sampling"], VIEW_SAMPLINGS)
        self.layer_combination = checked_layer_combination(config["layer_combination"])
        self.reg_scope = checked_choice("reg_scope", config["reg_scope"], REG_SCOPES)
        self.ssl_negative_items = checked_bool("ssl_negative_items", config["ssl_negative_items"])
        # An instance attribute, so that it wins over LLMAlignedRecommender's class default "mean"
        # in the aligned SGLs, whose mixin comes first in the MRO.
        self.base_loss_reduction = "sum" if self.reg_scope == "batch" else "mean"
        if self.view_sampling == "step":
            if self.type != "ED":
                raise ValueError(f"config key view_sampling: 'step' drops edges of the training graph at every "
                                 f"step and needs type: ED, got type: {self.type!r}")
            # Coalesced once, so that each step only draws which entries to keep.
            self.train_graph = self.train_graph.coalesce()

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

    regularised_tables = ego_tables

    def is_clean_forward(self, args, kwargs):
        r"""Whether ``forward(*args, **kwargs)`` propagates over the full training graph (what BPR
        and prediction use, and what an aligned model aligns), not over a view."""
        graph = args[0] if args else kwargs.get("graph")
        return graph is self.train_graph

    def graph_construction(self):
        # Per-step views need no per-epoch subgraphs (RecBole's SGL.train() rebuilds them).
        if self.view_sampling == "epoch":
            super().graph_construction()

    def view_graphs(self):
        r"""The two graphs whose propagations the SSL term contrasts."""
        if self.view_sampling == "epoch":
            return self.sub_graph1, self.sub_graph2
        keep_rate = 1 - self.drop_ratio
        return drop_edges(self.train_graph, keep_rate), drop_edges(self.train_graph, keep_rate)

    def propagate_for_loss(self, interaction):
        r"""The batch's user, positive and negative ids, and the propagations over the full training
        graph and over each view graph, as (user, item) pairs."""
        self.restore_user_e, self.restore_item_e = None, None
        ids = interaction[self.USER_ID], interaction[self.ITEM_ID], interaction[self.NEG_ITEM_ID]
        graph_1, graph_2 = self.view_graphs()
        return ids, self.forward(self.train_graph), self.forward(graph_1), self.forward(graph_2)

    def calculate_loss(self, interaction):
        (users, pos_items, neg_items), (user_emb, item_emb), (user_view_1, item_view_1), (
            user_view_2, item_view_2) = self.propagate_for_loss(interaction)
        ssl = self.summed_info_nce(user_view_1, user_view_2, users) + self.summed_info_nce(
            item_view_1, item_view_2, pos_items)
        if self.ssl_negative_items:
            ssl = ssl + self.summed_info_nce(item_view_1, item_view_2, neg_items)
        ssl = self.ssl_weight * ssl
        if self.reg_scope == "batch":
            return self.calc_bpr_loss(user_emb, item_emb, users, pos_items, neg_items), ssl
        user_rows = user_emb[users]
        score_gaps = (user_rows * item_emb[neg_items]).sum(dim=1) - (user_rows * item_emb[pos_items]).sum(dim=1)
        bpr = F.softplus(score_gaps).mean()  # = mean of -log sigmoid(pos - neg)
        return bpr + self.reg_weight * table_l2(*self.regularised_tables()), ssl / len(users)

    def summed_info_nce(self, view_1, view_2, rows):
        r"""SGL's InfoNCE summed over ``rows`` (repeats kept): each row's first view against its second
        view among all rows of the second view (RecBole's ``calc_ssl_loss``, one term of it)."""
        return len(rows) * info_nce_against_all(view_1, view_2, rows, self.ssl_tau)
