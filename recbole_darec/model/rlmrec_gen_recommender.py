r"""
RLMRecGenRecommender
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Gen.

A mixin that turns a RecBole general recommender into its RLMRec-Gen version (``class
LightGCNGen(RLMRecGenRecommender, LightGCN)``). At every training step a share ``gen_mask_ratio``
of all users and items has its ego embedding replaced by a learned mask token before the base
model propagates (so the base loss is also computed on the masked graph, as in RLMRec); an MLP
maps the propagated vectors of the masked rows into the language-model space, and an InfoNCE
(cosine, temperature ``gen_tau``) asks each to pick out its own language-model vector among
those of the other masked rows. Prediction is the base model's, never masked.

The base model must build its propagation from :meth:`get_ego_embeddings` (RecBole's LightGCN
and our SimGCL do; for SGL, :class:`~recbole_darec.model.sgl_terms.SGLTerms` does).

Config keys (defaults in ``properties/model/RLMRecGenRecommender.yaml``), besides the vector keys
of ``LLMVectorInput.yaml``:
    gen_weight (float): weight of the reconstruction term (RLMRec's recon_weight).
    gen_tau (float): InfoNCE temperature (RLMRec's re_temperature).
    gen_mask_ratio (float): share of users + items masked per step, in (0, 1).
"""

import torch
from torch import nn

from recbole_darec.model.llm_aligned_recommender import LLMAlignedRecommender
from recbole_darec.model.contrastive import info_nce, own_rows
from recbole_darec.model.rlmrec_alignment import mapping_mlp


class RLMRecGenRecommender(LLMAlignedRecommender):
    no_text_path = "RLMRec-Gen maps collaborative rows to the language space, not language vectors to rows"
    alignment_loss_names = ("gen",)

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.gen_weight = float(config["gen_weight"])
        self.gen_tau = float(config["gen_tau"])
        if self.gen_tau <= 0:
            raise ValueError(f"config key gen_tau must be > 0, got {self.gen_tau}")
        ratio = float(config["gen_mask_ratio"])
        if not 0 < ratio < 1:
            raise ValueError(f"config key gen_mask_ratio must be in (0, 1), got {ratio}")
        # At least two masked rows, or the InfoNCE has nothing to contrast with.
        self.n_masked = max(2, int(round(ratio * len(self.alignable_rows))))
        self.mask_token = nn.Parameter(torch.zeros(1, config["embedding_size"]))
        self.cf_to_llm = mapping_mlp(self.cf_dim, self.llm_dim)
        self._masked_rows = None

    def get_ego_embeddings(self):
        ego = super().get_ego_embeddings()  # LightGCN's, or SGLTerms' for SGL
        if self._masked_rows is None:
            return ego
        masked = torch.zeros(len(ego), 1, dtype=torch.bool, device=ego.device)
        masked[self._masked_rows] = True
        return torch.where(masked, self.mask_token.to(ego.dtype), ego)

    def calculate_loss(self, interaction):
        pick = torch.randperm(len(self.alignable_rows), device=self.alignable_rows.device)[: self.n_masked]
        self._masked_rows = self.alignable_rows[pick]
        try:
            return super().calculate_loss(interaction)
        finally:
            self._masked_rows = None

    def alignment_losses(self, user_table, item_table, interaction):
        rows = self._masked_rows
        reconstructed = self.cf_to_llm(torch.cat([user_table, item_table])[rows])
        targets = self.llm_vectors[rows]
        return (self.gen_weight * info_nce(reconstructed, targets, own_rows(targets), self.gen_tau),)
