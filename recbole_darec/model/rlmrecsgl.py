r"""
RLMRecSGL
################################################
Reference:
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950): the SGL of its code (``encoder/models/general_cf/sgl.py``),
    whose numbers fill its Table 1.

RecBole's SGL (BPR on the full graph, InfoNCE between two edge-dropped views against all users /
items, ``full_sort_predict``) with the four choices in which RLMRec's SGL differs, as config keys:

* ``layer_combination``: RLMRec's SGL, like its LightGCN, *sums* the layers 0..L where RecBole's
  averages them; on RLMRec's splits that one choice takes SGL from half the published Recall@20 to
  within 1% on Amazon-book (docs/datasets.md).
* ``reg_scope``: ``batch`` is RecBole's loss, summed over the batch, with the L2 norms of the
  batch's ego rows over the batch size; ``tables`` is RLMRec's, per training pair: mean BPR +
  ``reg_weight`` x the squared norm of both *whole* tables (a weight decay on every row at every
  step) + the SSL terms over the batch size.
* ``ssl_negative_items``: RLMRec's InfoNCE has a third term, the batch's negative items' two views
  against all items, besides the users' and the positive items'.
* ``view_sampling``: ``epoch`` is RecBole's two subgraphs, edges dropped from the interactions and
  the rest re-normalised, once per epoch; ``step`` is RLMRec's, two fresh views per training step,
  each keeping every entry of the normalised training adjacency with probability
  ``1 - drop_ratio`` (values not rescaled or re-normalised). ``step`` drops edges, so it takes
  ``type: ED``.

The propagation is the aligned SGLs' (:class:`SGLTerms`).

Config keys (defaults in ``properties/model/RLMRecSGL.yaml``): SGL's (embedding_size, n_layers,
type, drop_ratio, ssl_tau, ssl_weight, reg_weight), layer_combination (str: ``sum`` | ``mean``),
reg_scope (str: ``batch`` | ``tables``), ssl_negative_items (bool), view_sampling (str: ``epoch`` |
``step``). The defaults other than the sum are RecBole's, with which this model meets RLMRec's
Amazon-book number; ``reg_scope: tables``, ``ssl_negative_items: True``, ``view_sampling: step`` is
RLMRec's SGL loss throughout (docs/models.md#rlmrecsgl).
"""

import torch.nn.functional as F

from recbole_darec.config_checks import checked_bool, checked_choice
from recbole_darec.model.rlmreclightgcn import drop_edges
from recbole_darec.model.sgl_terms import SGLTerms
from recbole_darec.model.simgcl import REG_SCOPES, info_nce_against_all, table_l2

VIEW_SAMPLINGS = ("epoch", "step")


class RLMRecSGL(SGLTerms):
    r"""SGL as RLMRec trains it: layers summed, and (switchable) its loss and per-step views."""

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.reg_scope = checked_choice("reg_scope", config["reg_scope"], REG_SCOPES)
        self.view_sampling = checked_choice("view_sampling", config["view_sampling"], VIEW_SAMPLINGS)
        self.ssl_negative_items = checked_bool("ssl_negative_items", config["ssl_negative_items"])
        if self.view_sampling == "step":
            if self.type != "ED":
                raise ValueError(f"config key view_sampling: 'step' drops edges of the training graph at every "
                                 f"step and needs type: ED, got type: {self.type!r}")
            # Coalesced once, so that each step only draws which entries to keep.
            self.train_graph = self.train_graph.coalesce()

    def graph_construction(self):
        # Per-step views need no per-epoch subgraphs (RecBole's SGL.train() rebuilds them).
        if self.view_sampling == "epoch":
            super().graph_construction()

    def view_graphs(self):
        if self.view_sampling == "epoch":
            return super().view_graphs()
        keep_rate = 1 - self.drop_ratio
        return drop_edges(self.train_graph, keep_rate), drop_edges(self.train_graph, keep_rate)

    def calculate_loss(self, interaction):
        (users, pos_items, neg_items), (user_emb, item_emb), (user_view_1, item_view_1), (
            user_view_2, item_view_2) = self.propagate_for_loss(interaction)
        ssl = self.summed_info_nce(user_view_1, user_view_2, users) + self.summed_info_nce(
            item_view_1, item_view_2, pos_items)
        if self.ssl_negative_items:
            ssl = ssl + self.summed_info_nce(item_view_1, item_view_2, neg_items)
        ssl = self.ssl_weight * ssl
        if self.reg_scope == "batch":
            return self.calc_bpr_loss(user_emb, item_emb, users, pos_items, neg_items) + ssl
        user_rows = user_emb[users]
        score_gaps = (user_rows * item_emb[neg_items]).sum(dim=1) - (user_rows * item_emb[pos_items]).sum(dim=1)
        bpr = F.softplus(score_gaps).sum()  # = sum of -log sigmoid(pos - neg)
        return (bpr + ssl) / len(users) + self.reg_weight * table_l2(self)

    def summed_info_nce(self, view_1, view_2, rows):
        r"""RecBole's SGL InfoNCE summed over ``rows`` (repeats kept): each row's first view against
        its second view among all rows of the second view."""
        return len(rows) * info_nce_against_all(view_1, view_2, rows, self.ssl_tau)
