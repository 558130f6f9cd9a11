r"""
LLMVectorInput
################################################
The part every model of ours that reads language-model vectors shares: the aligned models
(:class:`~recbole_darec.model.llm_aligned_recommender.LLMAlignedRecommender`: DaRec, RLMRec-Con,
RLMRec-Gen) and AlphaRec, whose input they are. A mixin that goes before a RecBole general
recommender: it takes the fixed vectors ``E^L`` from the dataset (one row per internal user id,
then per internal item id; pad rows zero) into the buffer ``llm_vectors``, after checking that the
dataset was split by :class:`~recbole_darec.data.dataset.DaRecDataset`, which checks that the user
vectors were embedded from that training split.

Scoring items from text alone (``item_rows_from_text``, ``scores_from_text``): the one interface
through which an item that has no trained row (a new item, an item with no training interaction)
is ranked. A model with a text path returns that item's row in the space it ranks in; the others
return None and say why (``no_text_path``). ``recommend --new-items`` asks only this.

Config keys (defaults in ``properties/model/LLMVectorInput.yaml``) are those of
:class:`~recbole_darec.data.dataset.DaRecDataset`, which reads the vectors:
    llm_vector_format, llm_user_vector_file, llm_item_vector_file, llm_missing, llm_shuffle_seed,
    llm_require_split_record, llm_user_vectors.
"""


import torch
from recbole.data.interaction import Interaction

from recbole_darec.config_checks import config_value


class LLMVectorInput:
    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        llm_vectors = getattr(dataset, "llm_vectors", None)
        if llm_vectors is None:
            raise ValueError(
                f"{type(self).__name__} needs language-model vectors, but its dataset is a "
                f"{type(dataset).__name__} without them. Import recbole_darec before RecBole "
                f"creates the dataset, so that create_dataset picks DaRecDataset."
            )
        if getattr(dataset, "train_pairs_sha256", None) is None:
            # DaRecDataset.build() gives every split part the hash its user vectors were checked
            # against; a dataset without it (never split, or split dataloaders saved by an older
            # recbole-darec) has had no leakage check.
            raise ValueError(
                f"{type(self).__name__} needs a training split built by DaRecDataset.build() (as "
                f"RecBole's data_preparation does), which checks that the user vectors were embedded "
                f"from that split; this {type(dataset).__name__} has no train_pairs_sha256. Pass "
                f"train_data.dataset, or rebuild dataloaders saved by an older recbole-darec "
                f"(delete the saved file, or set save_dataloaders: False).")
        wanted = bool(config_value(config, "llm_user_vectors", True))
        read = getattr(dataset, "reads_user_vectors", True)
        if wanted != read:
            # A dataset saved by RecBole (save_dataset) is reused whatever this key says.
            raise ValueError(
                f"{type(self).__name__}: config key llm_user_vectors is {wanted}, but its dataset was built with "
                f"{read} (a dataset saved by another run, save_dataset: True?). Delete the saved dataset file, or "
                f"set save_dataset: False.")
        self.register_buffer("llm_vectors", llm_vectors.float(), persistent=False)
        self.llm_dim = llm_vectors.shape[1]

    # Why the model cannot rank an item from its text alone (None when it can).
    no_text_path = "it has no path from an item's language vector to its ranking row"

    def item_rows_from_text(self, item_vectors):
        r"""Ranking rows of items given only by their language vectors (N x d_L), in the space of
        the model's own item rows; None when the model has no text path (``no_text_path``)."""
        return None

    def ranking_tables(self):
        r"""``(user rows, item rows)`` the model ranks with, as its ``full_sort_predict`` caches them."""
        if getattr(self, "restore_user_e", None) is None or getattr(self, "restore_item_e", None) is None:
            # Filled by the model's own prediction (LightGCN's, SGL's over its training graph, ...).
            self.full_sort_predict(Interaction({self.USER_ID: torch.zeros(1, dtype=torch.long, device=self.device)}))
        return self.restore_user_e, self.restore_item_e

    def scores_from_text(self, users, item_vectors):
        r"""Scores (len(users) x N) of ``users`` (internal ids) for items given only by vectors."""
        rows = self.item_rows_from_text(item_vectors)
        if rows is None:
            raise TypeError(f"{type(self).__name__} cannot score an item from its text: {self.no_text_path}")
        return self.ranking_tables()[0][users] @ rows.T
