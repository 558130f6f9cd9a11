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

How E^C is found, and the hooks a base model may need (``collaborative_embeddings``,
``collaborative_dim``, ``base_loss``, ``base_loss_names``, ``base_loss_reduction``), are those of
:class:`~recbole_darec.model.llm_aligned_recommender.LLMAlignedRecommender`, shared with RLMRec-Con
and RLMRec-Gen. docs/models.md shows how to DaRec-enable any RecBole general recommender.

Config keys (defaults in ``properties/model/DaRecRecommender.yaml``), besides those of
:class:`DaRecObjective` and :class:`~recbole_darec.data.dataset.DaRecDataset`
(``LLMAlignedRecommender.yaml``):
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

from recbole_darec.config_checks import checked_choice
from recbole_darec.model.darec_objective import DaRecObjective
from recbole_darec.model.llm_aligned_recommender import LLMAlignedRecommender

SAMPLE_MODES = ("uniform", "batch")
GLOBAL_ROWS = ("sample", "all")


class DaRecRecommender(LLMAlignedRecommender):
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
        self.darec = DaRecObjective(config, cf_dim=self.cf_dim, llm_dim=self.llm_dim)
        if "local" in self.darec.enabled and self.darec.n_clusters > self.sample_size:
            raise ValueError(
                f"config key darec_n_clusters ({self.darec.n_clusters}) exceeds the rows per "
                f"step ({self.sample_size} = min(darec_sample_size, users + items))"
            )

    @property
    def alignment_loss_names(self):
        return tuple(self.darec.enabled)

    def alignment_losses(self, user_table, item_table, interaction):
        self._training_steps += 1
        if (self._training_steps - 1) % self.interval:
            # RecBole sums the terms position by position over the epoch: keep the tuple's shape.
            return tuple(user_table.new_zeros(()) for _ in self.darec.enabled)
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
        return tuple(weight * value for value in terms.values())

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
