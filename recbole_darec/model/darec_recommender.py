r"""
DaRecRecommender
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).

A mixin that turns a RecBole general recommender into its DaRec version: ``class
DaRecLightGCN(DaRecRecommender, LightGCN)``. Training adds ``darec_weight`` times the terms of
:class:`~recbole_darec.model.darec_objective.DaRecObjective` to the base model's own loss;
prediction is the base model's, unchanged.

The collaborative representations E^C are the output of the base model's first ``forward`` call
inside its ``calculate_loss`` when that is a (user table, item table) pair (LightGCN, SGL, SimGCL,
NGCF: the propagated tables), so DaRec costs no extra propagation. Otherwise (BPR's ``forward``
returns the batch's rows) they are the model's ``user_embedding`` / ``item_embedding`` tables.
A model with neither overrides :meth:`collaborative_embeddings`, and one whose tables are not
``embedding_size`` wide (NGCF concatenates its layers) overrides :meth:`collaborative_dim`;
a base that sums its loss over the batch (RecBole's SGL) sets ``base_loss_reduction = "sum"``,
and one whose loss is a sum of terms may split them for the log with :meth:`base_loss` and
``base_loss_names``. docs/models.md shows how to DaRec-enable any RecBole general recommender.

Config keys (defaults in ``properties/model/DaRecRecommender.yaml``), besides those of
:class:`DaRecObjective` and :class:`~recbole_darec.data.dataset.DaRecDataset`:
    darec_weight (float): lambda, the weight of the DaRec terms.
    darec_sample_size (int): N_hat, rows per step (clamped to the number of users + items).
    darec_sample_mode (str): ``uniform`` over all users and items, or ``batch`` (the batch's
        users and items, topped up at random).
    darec_global_rows (str): ``sample`` (L_glo on the N_hat rows) or ``all`` (every row).
    darec_interval (int): compute the DaRec terms on every k-th training batch only, weighted by
        k (the other batches report them as 0). 1 = every batch, as in the paper; larger values
        trade alignment updates for speed on a CPU (docs/benchmarks.md).
"""

import torch
from torch import nn

from recbole_darec.model.darec_objective import DaRecObjective

SAMPLE_MODES = ("uniform", "batch")
GLOBAL_ROWS = ("sample", "all")


class DaRecRecommender:
    base_loss_names = ("base",)
    # "sum" for a base whose loss sums over the batch (RecBole's SGL): lambda then also scales
    # by the batch size, so it means the same relative weight as on a mean-reduced base.
    base_loss_reduction = "mean"

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        llm_vectors = getattr(dataset, "llm_vectors", None)
        if llm_vectors is None:
            raise ValueError(
                f"{type(self).__name__} needs language-model vectors, but its dataset is a "
                f"{type(dataset).__name__} without them. Import recbole_darec before RecBole "
                f"creates the dataset, so that create_dataset picks DaRecDataset."
            )
        self.darec_weight = float(config["darec_weight"])
        self.sample_mode = config["darec_sample_mode"]
        if self.sample_mode not in SAMPLE_MODES:
            raise ValueError(
                f"config key darec_sample_mode must be one of {SAMPLE_MODES}, got {self.sample_mode!r}"
            )
        self.global_rows = config["darec_global_rows"]
        if self.global_rows not in GLOBAL_ROWS:
            raise ValueError(
                f"config key darec_global_rows must be one of {GLOBAL_ROWS}, got {self.global_rows!r}"
            )
        self.register_buffer("llm_vectors", llm_vectors.float(), persistent=False)
        # Row 0 (the [PAD] user) and row n_users (the [PAD] item) have no text: never sample them.
        rows = torch.arange(self.n_users + self.n_items)
        rows = rows[(rows != 0) & (rows != self.n_users)]
        self.register_buffer("alignable_rows", rows, persistent=False)
        self.sample_size = min(int(config["darec_sample_size"]), len(rows))
        self.interval = int(config["darec_interval"])
        if self.interval < 1:
            raise ValueError(f"config key darec_interval must be >= 1, got {self.interval}")
        self._training_steps = 0
        self._check_embeddings_reachable()
        self.cf_dim = int(self.collaborative_dim(config))
        self.darec = DaRecObjective(config, cf_dim=self.cf_dim, llm_dim=llm_vectors.shape[1])
        if "local" in self.darec.enabled and self.darec.n_clusters > self.sample_size:
            raise ValueError(
                f"config key darec_n_clusters ({self.darec.n_clusters}) exceeds the rows per "
                f"step ({self.sample_size} = min(darec_sample_size, users + items))"
            )
        self._capture_next_forward = False
        self._captured = None

    @property
    def loss_names(self):
        return tuple(self.base_loss_names) + tuple(self.darec.enabled)

    def forward(self, *args, **kwargs):
        output = super().forward(*args, **kwargs)
        if self._capture_next_forward:
            self._capture_next_forward = False
            self._captured = output
        return output

    def collaborative_dim(self, config):
        r"""Width of the tables :meth:`collaborative_embeddings` returns."""
        return config["embedding_size"]

    def collaborative_embeddings(self, interaction):
        r"""``(user table, item table)`` of this training step: E^C before stacking."""
        if self._is_table_pair(self._captured):
            return self._captured
        return self.user_embedding.weight, self.item_embedding.weight

    def _is_table_pair(self, output):
        return (
            isinstance(output, tuple)
            and len(output) == 2
            and all(isinstance(table, torch.Tensor) and table.dim() == 2 for table in output)
            and output[0].shape[0] == self.n_users
            and output[1].shape[0] == self.n_items
        )

    def _check_embeddings_reachable(self):
        overridden = type(self).collaborative_embeddings is not DaRecRecommender.collaborative_embeddings
        has_tables = isinstance(getattr(self, "user_embedding", None), nn.Embedding) and isinstance(
            getattr(self, "item_embedding", None), nn.Embedding
        )
        if not (overridden or has_tables):
            base = next(c for c in type(self).__mro__[1:] if not issubclass(c, DaRecRecommender))
            raise TypeError(
                f"{type(self).__name__}: DaRec aligns user and item embedding tables with the LLM "
                f"vectors, but {base.__name__} has no nn.Embedding attributes user_embedding and "
                f"item_embedding. If it represents users and items in another way, override "
                f"collaborative_embeddings() to return (user table, item table); models without "
                f"such representations (e.g. Pop, ItemKNN, EASE) cannot be DaRec-enabled."
            )

    def _check_tables(self, user_table, item_table):
        expected = ((self.n_users, self.cf_dim), (self.n_items, self.cf_dim))
        got = (tuple(user_table.shape), tuple(item_table.shape))
        if got != expected:
            raise ValueError(
                f"{type(self).__name__}.collaborative_embeddings() returned tables of shapes "
                f"{got}, expected {expected} (users, items x collaborative_dim()). Override "
                f"collaborative_dim() if the model's tables are not embedding_size wide."
            )

    def base_loss(self, interaction):
        r"""The wrapped model's own loss as a tuple, one entry per ``base_loss_names``."""
        loss = super().calculate_loss(interaction)
        return loss if isinstance(loss, tuple) else (loss,)

    def calculate_loss(self, interaction):
        self._capture_next_forward = True
        try:
            base_terms = self.base_loss(interaction)
            user_table, item_table = self.collaborative_embeddings(interaction)
            self._check_tables(user_table, item_table)
        finally:
            self._capture_next_forward, self._captured = False, None
        if not self.darec.enabled:
            return base_terms
        self._training_steps += 1
        if (self._training_steps - 1) % self.interval:
            # RecBole sums the terms position by position over the epoch: keep the tuple's shape.
            return base_terms + tuple(user_table.new_zeros(()) for _ in self.darec.enabled)
        cf_all = torch.cat([user_table, item_table])
        rows = self.sample_rows(interaction)
        if self.global_rows == "all":
            # Row r of cf_all sits at position r - 1 (users) or r - 2 (items) of alignable_rows.
            sample = rows - 1 - (rows > self.n_users).long()
            aligned = self.alignable_rows
            terms = self.darec(cf_all[aligned], self.llm_vectors[aligned], sample)
        else:
            terms = self.darec(cf_all[rows], self.llm_vectors[rows])
        weight = self.darec_weight * self.interval
        if self.base_loss_reduction == "sum":
            weight *= len(interaction)
        return base_terms + tuple(weight * value for value in terms.values())

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
