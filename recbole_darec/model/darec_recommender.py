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
inside its ``calculate_loss`` (LightGCN, SGL, SimGCL, NGCF: the propagated user and item tables),
so DaRec costs no extra propagation. A base whose ``forward`` returns something else overrides
:meth:`collaborative_embeddings`.

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

from recbole_darec.model.darec_objective import DaRecObjective

SAMPLE_MODES = ("uniform", "batch")
GLOBAL_ROWS = ("sample", "all")


class DaRecRecommender:
    base_loss_names = ("base",)

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
        self.darec = DaRecObjective(
            config, cf_dim=config["embedding_size"], llm_dim=llm_vectors.shape[1]
        )
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

    def collaborative_embeddings(self, interaction):
        r"""``(user table, item table)`` of this training step: E^C before stacking."""
        return self._captured

    def base_loss(self, interaction):
        r"""The wrapped model's own loss as a tuple, one entry per ``base_loss_names``."""
        loss = super().calculate_loss(interaction)
        return loss if isinstance(loss, tuple) else (loss,)

    def calculate_loss(self, interaction):
        self._capture_next_forward = True
        try:
            base_terms = self.base_loss(interaction)
            user_table, item_table = self.collaborative_embeddings(interaction)
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
