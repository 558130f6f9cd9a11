r"""
DaRecRecommender
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).

A mixin that turns a RecBole general recommender into its DaRec version: ``class
DaRecLightGCN(DaRecRecommender, LightGCN)``. Training adds ``darec_weight`` times the terms of
:class:`~recbole_darec.model.darec_objective.DaRecObjective` to the base model's own loss.

What ranks (``darec_score``): ``base`` ranks with the base model's own representations, as the
paper's experiments do. ``disentangled`` ranks with Theorem 2's combined representations,
concat(f^C_sh(E^C), f^C_sp(E^C)); ``fused`` adds the language side, concat((f^C_sh(E^C) +
f^L_sh(E^L)) / 2, f^C_sp(E^C), f^L_sp(E^L)), so that a user's or an item's own text moves its
scores. In both, the base model's ranking loss (BPR) and its regulariser are computed on that
representation, so they train the projectors (the L2 term that LightGCN, SGL and SimGCL put on the
batch's ego rows, or with ``reg_scope: tables`` on the whole ego tables, goes to the batch's rows,
or the whole tables, of the representation; NGCF's is on its output rows, which the representation
replaces); contrastive views stay on the base model's tables.
The representation replaces the output of the base model's clean propagation (the call
``is_clean_forward`` accepts), so the base model's prediction and its cache of propagated tables
serve it unchanged; a base model without a propagation (BPR) overrides its row look-ups.

How E^C is found, and the hooks a base model may need (``collaborative_embeddings``,
``collaborative_dim``, ``base_loss``, ``base_loss_names``, ``base_loss_reduction``), are those of
:class:`~recbole_darec.model.llm_aligned_recommender.LLMAlignedRecommender`, shared with RLMRec-Con
and RLMRec-Gen. docs/models.md shows how to DaRec-enable any RecBole general recommender.

Config keys (defaults in ``properties/model/DaRecRecommender.yaml``), besides those of
:class:`DaRecObjective` and :class:`~recbole_darec.data.dataset.DaRecDataset`
(``LLMVectorInput.yaml``):
    darec_weight (float): lambda, the weight of the DaRec terms.
    darec_sample_size (int): N_hat, rows per step (clamped to the number of users + items).
    darec_sample_mode (str): ``uniform`` over all users and items, or ``batch`` (the batch's
        users and items, topped up at random).
    darec_global_rows (str): ``sample`` (L_glo on the N_hat rows) or ``all`` (every row).
    darec_interval (int): compute the DaRec terms on every k-th training batch only, weighted by
        k (the other batches report them as 0). 1 = every batch, as in the paper; larger values
        trade alignment updates for speed on a CPU (docs/benchmarks.md).
    darec_score (str): ``base``, ``disentangled`` or ``fused``: what ranks (above).
    darec_pointwise_weight (float): weight of RLMRec-Con's in-batch InfoNCE on the shared parts
        only: each distinct user (item) of the batch, its f^C_sh(E^C) against its own f^L_sh(E^L)
        among the batch's other users (items); not multiplied by darec_weight; 0 = off.
    darec_pointwise_tau (float): that InfoNCE's temperature.
"""

import torch

from recbole_darec.config_checks import checked_choice, config_value
from recbole_darec.model.contrastive import info_nce, own_rows
from recbole_darec.model.darec_objective import DaRecObjective
from recbole_darec.model.llm_aligned_recommender import LLMAlignedRecommender

SAMPLE_MODES = ("uniform", "batch")
GLOBAL_ROWS = ("sample", "all")
SCORE_MODES = ("base", "disentangled", "fused")


def representation_lookup(module, inputs, output):
    r"""Forward hook of an embedding table: while a DaRec model's loss runs on the representation,
    a look-up of rows returns those rows of the representation instead of the ego rows."""
    rows = getattr(module, "darec_loss_rows", None)
    return output if rows is None else rows[inputs[0]]


class RepresentationRows:
    r"""One side (users or items) of a ``darec_score`` representation during a training loss, its
    rows computed when they are looked up. The projectors act row by row, so a batch's loss
    projects only the distinct rows it reads, not every user and item: on Steam (28.5k rows, batch 4096)
    that is most of a ``fused`` step's cost. Indexing (what a base model's loss does with the
    tables its forward returns) gives the rows; :meth:`full` the whole table."""

    def __init__(self, model, cf_table, offset):
        self.model, self.cf_table, self.offset = model, cf_table, offset
        self._looked_up = []  # (ids, rows): lives for one loss

    def __getitem__(self, ids):
        # A loss reads the batch's rows for its scores, then the same id tensors for its regulariser.
        for seen, rows in self._looked_up:
            if seen is ids:
                return rows
        if not (torch.is_tensor(ids) and not ids.dtype.is_floating_point and ids.dtype != torch.bool):
            return self.full()[ids]  # a mask or a slice: the whole table, then RecBole's own indexing
        # Each distinct row once: a batch repeats users and popular items.
        distinct, position = torch.unique(ids, return_inverse=True)
        rows = self.model.ranking_rows(self.cf_table[distinct], distinct + self.offset)[position]
        self._looked_up.append((ids, rows))
        return rows

    def __len__(self):
        return len(self.cf_table)

    def full(self):
        rows = torch.arange(self.offset, self.offset + len(self.cf_table), device=self.cf_table.device)
        return self.model.ranking_rows(self.cf_table, rows)


class DaRecRecommender(LLMAlignedRecommender):
    # True where the new darec_score modes reach the ranking: a clean forward() returning the
    # (user, item) tables, or row look-ups through ranking_rows() (DaRecBPR).
    ranks_with_representation = False

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.darec_weight = float(config["darec_weight"])
        self.sample_mode = checked_choice("darec_sample_mode", config["darec_sample_mode"], SAMPLE_MODES)
        self.global_rows = checked_choice("darec_global_rows", config["darec_global_rows"], GLOBAL_ROWS)
        self.sample_size = min(int(config["darec_sample_size"]), len(self.alignable_rows))
        self.interval = int(config["darec_interval"])
        if self.interval < 1:
            raise ValueError(f"config key darec_interval must be >= 1, got {self.interval}")
        self._training_steps = 0
        # Kept in checkpoints so that a resumed run (recbole_darec/resume.py) keeps the interval's phase.
        self.other_parameter_name = [*getattr(self, "other_parameter_name", []), "_training_steps"]
        # config_value: a checkpoint saved before these keys existed reloads as it was trained.
        self.pointwise_weight = float(config_value(config, "darec_pointwise_weight", 0.0))
        if self.pointwise_weight < 0:
            raise ValueError(f"config key darec_pointwise_weight must be >= 0, got {self.pointwise_weight}")
        self.pointwise_tau = float(config_value(config, "darec_pointwise_tau", 0.2))
        if self.pointwise_tau <= 0:
            raise ValueError(f"config key darec_pointwise_tau must be > 0, got {self.pointwise_tau}")
        self.darec = DaRecObjective(config, cf_dim=self.cf_dim, llm_dim=self.llm_dim)
        self.score_mode = checked_choice("darec_score", config_value(config, "darec_score", "base"), SCORE_MODES)
        if self.score_mode != "base" and not self.darec.disentangle:
            raise ValueError(
                f"{type(self).__name__}: darec_score: {self.score_mode} ranks with the specific parts, "
                f"which darec_disentangle: False removes; set darec_disentangle: True or darec_score: base")
        if self.score_mode != "base" and not self.ranks_with_representation:
            raise ValueError(
                f"{type(self).__name__}: darec_score: {self.score_mode} needs a base model that ranks with the "
                f"representation: a clean forward() returning (user table, item table), as LightGCN's, or row "
                f"look-ups that call ranking_rows(), as DaRecBPR's; {type(self).__name__} declares neither "
                f"(ranks_with_representation = False). Use darec_score: base, or build that and set "
                f"ranks_with_representation = True (docs/models.md).")
        self._in_loss, self._loss_rows = False, None
        if self.score_mode != "base":
            self._regularise_representation()
        self.register_buffer("user_rows", torch.arange(self.n_users), persistent=False)
        self.register_buffer("item_rows", torch.arange(self.n_users, self.n_users + self.n_items),
                             persistent=False)
        if "local" in self.darec.enabled and self.darec.n_clusters > self.sample_size:
            raise ValueError(
                f"config key darec_n_clusters ({self.darec.n_clusters}) exceeds the rows per "
                f"step ({self.sample_size} = min(darec_sample_size, users + items))"
            )

    @property
    def alignment_loss_names(self):
        return tuple(self.darec.enabled) + (("pointwise",) if self.pointwise_weight else ())

    def forward(self, *args, **kwargs):
        output = super().forward(*args, **kwargs)
        if self.score_mode == "base" or not self._is_table_pair(output) or not self._is_clean_call(args, kwargs):
            return output
        users, items = output
        if self._in_loss:
            output = RepresentationRows(self, users, 0), RepresentationRows(self, items, self.n_users)
            self._set_loss_rows(output)
            return output
        return self.ranking_rows(users, self.user_rows), self.ranking_rows(items, self.item_rows)

    def _regularise_representation(self):
        # The backbones regularise their ego rows: LightGCN's and RecBole SGL's losses look the
        # batch's rows up with self.user_embedding(ids) / self.item_embedding(ids), and
        # ``reg_scope: tables`` reads regularised_tables(). While a loss runs on the
        # representation, both answer with its rows instead, so that BPR and its regulariser see
        # the same rows (issue 54). Propagation reads .weight, which no hook sees; BPR never
        # produces a (user, item) pair, so its look-ups pass through. The rows ride on the
        # embedding modules, not in a closure over the model, so a copy of the model reads its own.
        for table in ("user_embedding", "item_embedding"):
            module = getattr(self, table, None)
            if isinstance(module, torch.nn.Embedding):
                module.darec_loss_rows = None
                module.register_forward_hook(representation_lookup)

    def _set_loss_rows(self, rows):
        self._loss_rows = rows
        for table, side in (("user_embedding", 0), ("item_embedding", 1)):
            module = getattr(self, table, None)
            if hasattr(module, "darec_loss_rows"):
                module.darec_loss_rows = None if rows is None else rows[side]

    def regularised_tables(self):
        if self._loss_rows is not None:
            return tuple(side.full() for side in self._loss_rows)
        return super().regularised_tables()

    def base_loss(self, interaction):
        self._in_loss = True
        try:
            return super().base_loss(interaction)
        finally:
            self._in_loss = False
            self._set_loss_rows(None)

    @property
    def no_text_path(self):
        if self.score_mode == "fused":
            return None
        return (f"darec_score: {self.score_mode} ranks with rows derived from the collaborative side only; "
                f"darec_score: fused carries the language side")

    def item_rows_from_text(self, item_vectors):
        r"""``fused``: the language side of the representation. The shared part is f^L_sh alone (the
        side aligned to stand for both), the collaborative specific part zero (nothing is known)."""
        if self.score_mode != "fused":
            return None
        shared = self.darec.llm_shared(item_vectors)
        return torch.cat([shared, torch.zeros_like(shared), self.darec.llm_specific(item_vectors)], dim=1)

    def ranking_rows(self, cf_rows, rows):
        r"""The representation ``darec_score`` ranks with, for ``cf_rows`` (rows of E^C) whose
        indices into users-then-items are ``rows``."""
        if self.score_mode == "base":
            return cf_rows
        parts = [self.darec.cf_shared(cf_rows), self.darec.cf_specific(cf_rows)]
        if self.score_mode == "fused":
            llm_rows = self.llm_vectors[rows]
            parts[0] = (parts[0] + self.darec.llm_shared(llm_rows)) / 2
            parts.append(self.darec.llm_specific(llm_rows))
        return torch.cat(parts, dim=1)

    def alignment_losses(self, user_table, item_table, interaction):
        self._training_steps += 1
        if (self._training_steps - 1) % self.interval:
            # RecBole sums the terms position by position over the epoch: keep the tuple's shape.
            return tuple(user_table.new_zeros(()) for _ in self.alignment_loss_names)
        cf_all = torch.cat([user_table, item_table])
        rows = self.sample_rows(interaction)
        if self.global_rows == "all":
            # The sampled rows' positions in alignable_rows (sorted; it leaves out the [PAD] rows
            # and, under hide_unseen_items, the items without training interactions).
            sample = torch.searchsorted(self.alignable_rows, rows)
            aligned = self.alignable_rows
            terms = self.darec(cf_all[aligned], self.llm_vectors[aligned], sample)
        else:
            terms = self.darec(cf_all[rows], self.llm_vectors[rows])
        weighted = [self.interval * self.darec_weight * value for value in terms.values()]
        if self.pointwise_weight:
            weighted.append(self.interval * self.pointwise_weight * self.pointwise_loss(user_table, item_table,
                                                                                      interaction))
        return tuple(weighted)

    def pointwise_loss(self, user_table, item_table, interaction):
        r"""RLMRec-Con's in-batch InfoNCE (``con_negatives: batch``) on the shared parts: each
        distinct user of the batch, and each distinct positive and negative item, its f^C_sh
        against its own f^L_sh among the batch's others of its kind, weighted by its count."""
        groups = [(user_table, 0, interaction[self.USER_ID]), (item_table, self.n_users, interaction[self.ITEM_ID])]
        if self.NEG_ITEM_ID in interaction:
            groups.append((item_table, self.n_users, interaction[self.NEG_ITEM_ID]))
        loss = 0
        for table, offset, ids in groups:
            rows, counts = torch.unique(ids, return_counts=True)
            cf_shared = self.darec.cf_shared(table[rows])
            llm_shared = self.darec.llm_shared(self.llm_vectors[rows + offset])
            loss = loss + info_nce(cf_shared, llm_shared, own_rows(rows), self.pointwise_tau, counts, counts)
        return loss

    def sample_rows(self, interaction):
        r"""The N_hat rows (indices into users-then-items) that the DaRec terms see this step."""
        n_rows = len(self.alignable_rows)
        if self.sample_mode == "uniform":
            pick = torch.randperm(n_rows, device=self.alignable_rows.device)[: self.sample_size]
            return self.alignable_rows[pick]
        batch_rows = [interaction[self.USER_ID], interaction[self.ITEM_ID] + self.n_users]
        if self.NEG_ITEM_ID in interaction:
            batch_rows.append(interaction[self.NEG_ITEM_ID] + self.n_users)
        batch_rows = torch.unique(torch.cat(batch_rows))
        if len(batch_rows) >= self.sample_size:
            pick = torch.randperm(len(batch_rows), device=batch_rows.device)[: self.sample_size]
            return batch_rows[pick]
        outside = torch.ones(self.n_users + self.n_items, dtype=torch.bool, device=batch_rows.device)
        outside[batch_rows] = False
        candidates = self.alignable_rows[outside[self.alignable_rows]]
        top_up = torch.randperm(len(candidates), device=candidates.device)
        return torch.cat([batch_rows, candidates[top_up[: self.sample_size - len(batch_rows)]]])
