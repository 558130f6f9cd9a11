r"""
RLMRecConRecommender
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Con.

A mixin that turns a RecBole general recommender into its RLMRec-Con version (``class
LightGCNCon(RLMRecConRecommender, LightGCN)``): an MLP maps every language-model vector into the
collaborative space, and an InfoNCE (cosine, temperature ``con_tau``) pulls the collaborative
vector of each of the batch's users, positive items and negative items towards its own mapped
vector, against the mapped vectors of every user (``con_negatives: all``, as RLMRec) or of the
batch's users (``batch``) for a user, and of the batch's positive (negative) items for an item.
The base loss, E^C and prediction are the base model's (see
:class:`~recbole_darec.model.llm_aligned_recommender.LLMAlignedRecommender`).

Config keys (defaults in ``properties/model/RLMRecConRecommender.yaml``), besides the vector keys
of ``LLMVectorInput.yaml``:
    con_weight (float): weight of the alignment term (RLMRec's kd_weight).
    con_tau (float): InfoNCE temperature (RLMRec's kd_temperature).
    con_negatives (str): ``all`` or ``batch`` (see above).
"""

import torch

from recbole_darec.config_checks import checked_choice
from recbole_darec.model.llm_aligned_recommender import LLMAlignedRecommender
from recbole_darec.model.contrastive import info_nce, own_rows
from recbole_darec.model.rlmrec_alignment import mapping_mlp
from recbole_darec.protocol import training_items

NEGATIVES = ("all", "batch")


class RLMRecConRecommender(LLMAlignedRecommender):
    alignment_loss_names = ("con",)

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.con_weight = float(config["con_weight"])
        self.con_tau = float(config["con_tau"])
        if self.con_tau <= 0:
            raise ValueError(f"config key con_tau must be > 0, got {self.con_tau}")
        self.con_negatives = checked_choice("con_negatives", config["con_negatives"], NEGATIVES)
        self.llm_to_cf = mapping_mlp(self.llm_dim, self.cf_dim)
        self.register_buffer("trained_items", torch.as_tensor(training_items(dataset), dtype=torch.long),
                             persistent=False)

    no_text_path = None

    def item_rows_from_text(self, item_vectors):
        # The InfoNCE aligned the mapped vector with the item's propagated row (E^C, what ranks),
        # by cosine: the mapping gives the direction, the trained items' mean norm the length
        # (items without a training interaction keep small untrained rows: left out).
        item_table = self.ranking_tables()[1][self.trained_items]
        mapped = torch.nn.functional.normalize(self.llm_to_cf(item_vectors), dim=1)
        return mapped * item_table.norm(dim=1).mean()

    def alignment_losses(self, user_table, item_table, interaction):
        # Each distinct user and item of the batch once, weighted by how often the batch holds it:
        # the same loss as one row per repeat, at a fraction of the MLP and logits work.
        user_llm = self.llm_vectors[: self.n_users]
        item_llm = self.llm_vectors[self.n_users:]
        users, user_counts = torch.unique(interaction[self.USER_ID], return_counts=True)
        if self.con_negatives == "all":
            mapped_users = self.llm_to_cf(user_llm[1:])  # row 0 is the [PAD] user
            loss = info_nce(user_table[users], mapped_users, users - 1, self.con_tau, user_counts)
        else:
            mapped_users = self.llm_to_cf(user_llm[users])
            loss = info_nce(user_table[users], mapped_users, own_rows(users), self.con_tau, user_counts, user_counts)
        item_columns = [self.ITEM_ID] + ([self.NEG_ITEM_ID] if self.NEG_ITEM_ID in interaction else [])
        columns = [interaction[column] for column in item_columns]
        batch_items = torch.unique(torch.cat(columns))  # positives and negatives share one MLP pass
        mapped_batch_items = self.llm_to_cf(item_llm[batch_items])
        for column in columns:
            items, counts = torch.unique(column, return_counts=True)
            mapped = mapped_batch_items[torch.searchsorted(batch_items, items)]
            loss = loss + info_nce(item_table[items], mapped, own_rows(items), self.con_tau, counts, counts)
        return (self.con_weight * loss,)
