r"""
SimGCL
################################################
Reference:
    Junliang Yu et al. "Are Graph Augmentations Necessary? Simple Graph Contrastive Learning for
    Recommendation." in SIGIR 2022.

RecBole 1.2.1 has no SimGCL; this is ours, built on RecBole's LightGCN (same normalised
adjacency, embeddings, BPR + L2 regularisation, ``full_sort_predict``). Two changes:

* the final embedding is the mean of the *propagated* layers 1..L (the ego layer 0 is left out,
  as in the paper's code), for training and prediction alike; ``include_ego`` adds layer 0 and
  ``layer_combination: sum`` sums instead of averaging (both as RLMRec's SimGCL);
* a contrastive term: two views propagated with direction-preserving noise added at every layer,
  ``e' = e + eps * sign(e) * normalize(u)``, ``u ~ U(0, 1)``; InfoNCE between the two views of
  the batch's unique users and, separately, of its unique positive items, at temperature
  ``cl_tau``, weighted by ``cl_weight``.

``calculate_loss`` returns ``(bpr + reg_weight * reg, cl_weight * cl)``, logged by name
(``loss_names``) by :class:`~recbole_darec.trainer.DaRecTrainer`.

Two [choice]s make it RLMRec's SimGCL (``encoder/models/general_cf/simgcl.py``, whose runs fill
RLMRec's Table 1) rather than the paper's / RecBole's conventions: ``reg_scope: tables`` puts the
L2 term on the squared norm of the *whole* user and item tables at every step (a weight decay on
every row, not divided by the batch size) instead of on the batch's rows; ``cl_negatives: all``
contrasts every batch row (duplicates kept) against *all* users / items of the other view instead
of the batch's unique ones.

Config keys (defaults in ``properties/model/SimGCL.yaml``):
    embedding_size (int), n_layers (int), reg_weight (float), require_pow (bool): LightGCN's.
    eps (float): the noise magnitude, the L2 norm of each row's noise (paper: 0.1).
    cl_weight (float): lambda, the weight of the contrastive term (paper: 0.5 on Yelp2018).
    cl_tau (float): InfoNCE temperature (paper: 0.2).
    include_ego (bool): whether the ego layer 0 joins the final combination (paper's code: False).
    layer_combination (str): ``mean`` (paper's code) or ``sum`` (RLMRec's) of those layers.
    reg_scope (str): ``batch`` (RecBole's LightGCN: L2 norm of the batch's ego rows over the batch
        size) or ``tables`` (RLMRec: squared L2 norm of both whole tables).
    cl_negatives (str): ``batch`` (the paper's code: the batch's unique users / items are the
        anchors and each other's negatives) or ``all`` (RLMRec: each batch row against every
        row of the other view).
"""

import torch
import torch.nn.functional as F
from recbole.model.general_recommender.lightgcn import LightGCN

from recbole_darec.config_checks import checked_bool, checked_choice
from recbole_darec.model.contrastive import info_nce, own_rows
from recbole_darec.model.layer_combination import checked_layer_combination, combine_layers


def direction_preserving_noise(embeddings, eps):
    r"""SimGCL's noise: each row has L2 norm ``eps`` (rows without zeros) and every entry the
    sign of the embedding it is added to, so it rotates a vector by a bounded angle and never
    flips it into another orthant."""
    unit = F.normalize(torch.rand_like(embeddings), dim=-1)
    return eps * torch.sign(embeddings) * unit


REG_SCOPES = ("batch", "tables")
CL_NEGATIVES = ("batch", "all")


def ego_tables(model):
    r"""The (user, item) tables ``reg_scope: tables`` penalises (``regularised_tables``): the ego
    tables; a DaRec model ranking with another representation penalises that instead."""
    return model.user_embedding.weight, model.item_embedding.weight


def table_l2(user_table, item_table):
    r"""Squared L2 norm of the whole user and item tables: RLMRec's ``reg_params``, a weight decay on
    every row at every step, on its SimGCL and SGL alike."""
    return user_table.square().sum() + item_table.square().sum()


def info_nce_against_all(view_1, view_2, rows, tau):
    r"""Mean InfoNCE of ``view_1[rows[k]]`` against ``view_2[rows[k]]`` (positive) and every other
    row of the whole ``view_2`` (negatives), on cosine similarities at temperature ``tau``;
    ``rows`` may repeat.

    Each distinct row is scored once and weighted by its count: the same loss and gradient as one
    logits row per repeat, with ~25% fewer logits rows on a Yelp batch and the temperature folded
    into the anchors. The (distinct rows x all rows) logits are the whole cost: forward and
    backward are 1.8x faster on Yelp-sized tables (``run_scripts/bench_infonce.py``, docs/benchmarks.md)."""
    distinct, counts = torch.unique(rows, return_counts=True)
    return info_nce(view_1[distinct], view_2, distinct, tau, anchor_counts=counts)


class SimGCL(LightGCN):
    r"""SimGCL: LightGCN with noise-perturbed contrastive views instead of graph augmentation."""

    loss_names = ("bpr_reg", "cl")

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.eps = float(config["eps"])
        self.cl_weight = float(config["cl_weight"])
        self.cl_tau = float(config["cl_tau"])
        self.include_ego = checked_bool("include_ego", config["include_ego"])
        self.layer_combination = checked_layer_combination(config["layer_combination"])
        self.reg_scope = checked_choice("reg_scope", config["reg_scope"], REG_SCOPES)
        self.cl_negatives = checked_choice("cl_negatives", config["cl_negatives"], CL_NEGATIVES)
        if self.eps < 0:
            raise ValueError(f"config key eps must be >= 0, got {self.eps}")
        if self.cl_tau <= 0:
            raise ValueError(f"config key cl_tau must be > 0, got {self.cl_tau}")
        if self.n_layers < 1:
            raise ValueError(f"config key n_layers must be >= 1 for SimGCL, got {self.n_layers}")

    def forward(self, perturbed=False):
        embeddings = self.get_ego_embeddings()
        layers = [embeddings] if self.include_ego else []
        for _ in range(self.n_layers):
            embeddings = torch.sparse.mm(self.norm_adj_matrix, embeddings)
            if perturbed:
                embeddings = embeddings + direction_preserving_noise(embeddings, self.eps)
            layers.append(embeddings)
        final = combine_layers(layers, self.layer_combination)
        user_embeddings, item_embeddings = torch.split(final, [self.n_users, self.n_items])
        return user_embeddings, item_embeddings

    regularised_tables = ego_tables

    def is_clean_forward(self, args, kwargs):
        r"""Whether ``forward(*args, **kwargs)`` is the noise-free propagation (what BPR and
        prediction use, and what an aligned model aligns)."""
        return not (args[0] if args else kwargs.get("perturbed", False))

    def calculate_loss(self, interaction):
        if self.reg_scope == "batch":
            # LightGCN's BPR + reg on the clean propagation (self.forward() without noise).
            bpr_reg = super().calculate_loss(interaction)
        else:
            bpr_reg = self.bpr_loss(interaction) + self.reg_weight * table_l2(*self.regularised_tables())
        return bpr_reg, self.cl_weight * self.contrastive_loss(interaction)

    def bpr_loss(self, interaction):
        r"""LightGCN's BPR term alone, on the clean propagation."""
        self.restore_user_e, self.restore_item_e = None, None
        user_embeddings, item_embeddings = self.forward()
        users = user_embeddings[interaction[self.USER_ID]]
        positive_scores = (users * item_embeddings[interaction[self.ITEM_ID]]).sum(dim=1)
        negative_scores = (users * item_embeddings[interaction[self.NEG_ITEM_ID]]).sum(dim=1)
        return self.mf_loss(positive_scores, negative_scores)

    def contrastive_loss(self, interaction):
        if self.cl_negatives == "all":
            user_view_1, item_view_1 = self.forward(perturbed=True)
            user_view_2, item_view_2 = self.forward(perturbed=True)
            return info_nce_against_all(
                user_view_1, user_view_2, interaction[self.USER_ID], self.cl_tau
            ) + info_nce_against_all(item_view_1, item_view_2, interaction[self.ITEM_ID], self.cl_tau)
        users = torch.unique(interaction[self.USER_ID])
        items = torch.unique(interaction[self.ITEM_ID])
        user_view_1, item_view_1 = self.forward(perturbed=True)
        user_view_2, item_view_2 = self.forward(perturbed=True)
        return info_nce(user_view_1[users], user_view_2[users], own_rows(users), self.cl_tau) + info_nce(
            item_view_1[items], item_view_2[items], own_rows(items), self.cl_tau
        )
