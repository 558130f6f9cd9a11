r"""
LLMAlignedRecommender
################################################
The part every language-model-aligned model shares: DaRec (:mod:`.darec_recommender`), RLMRec-Con
(:mod:`.rlmrec_con_recommender`) and RLMRec-Gen (:mod:`.rlmrec_gen_recommender`). It is a mixin
that goes before a RecBole general recommender (``class DaRecLightGCN(DaRecRecommender,
LightGCN)``): it holds the fixed language-model vectors ``E^L`` (one row per internal user id,
then per internal item id; :class:`~recbole_darec.model.llm_vector_input.LLMVectorInput`), finds the base model's collaborative tables ``E^C`` for the current
training step, and adds the subclass's alignment terms to the base model's own loss. Prediction
is the base model's, unchanged.

``E^C`` is the output of the base model's *clean* ``forward`` call inside its ``calculate_loss``,
the propagation that its ranking loss and its prediction use, when that is a (user table, item
table) pair, so alignment costs no extra propagation. Which call is clean is the backbone's to
say, with ``is_clean_forward(args, kwargs)``: by default the call without arguments (LightGCN,
NGCF); SimGCL's unperturbed call; SGL's over the full training graph, not a view's. Whatever
order the backbone makes its calls in, a noisy view is never aligned. Otherwise (BPR's
``forward`` takes the batch and returns its rows) it is the model's ``user_embedding`` /
``item_embedding`` tables. A model with neither overrides
:meth:`collaborative_embeddings`; one whose tables are not ``embedding_size`` wide (NGCF
concatenates its layers) overrides :meth:`collaborative_dim`; a base that sums its loss over the
batch (RecBole's SGL) sets ``base_loss_reduction = "sum"``, as a class or, when the loss is a
choice, an instance attribute (:class:`~recbole_darec.model.sgl_terms.SGLTerms`): the alignment
terms, means over rows, are then scaled by the batch size so that their weights mean the same on
every backbone; one whose loss is a sum of terms may split them for the log with
:meth:`base_loss` and ``base_loss_names``.

A subclass names its terms in ``alignment_loss_names`` and computes them, already weighted, in
:meth:`alignment_losses`.

Config keys: those of :class:`~recbole_darec.model.llm_vector_input.LLMVectorInput` (defaults in
``properties/model/LLMVectorInput.yaml``); ``llm_user_vectors`` must stay True;
``hide_unseen_items`` (default False): when True, the rows of items with no training interaction
are never aligned (the cold-start protocol, :mod:`recbole_darec.protocol`).
"""

import torch
from torch import nn

from recbole_darec.model.llm_vector_input import LLMVectorInput
from recbole_darec.protocol import hides_unseen_items, training_items


class LLMAlignedRecommender(LLMVectorInput):
    base_loss_names = ("base",)
    base_loss_reduction = "mean"
    alignment_loss_names = ()

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        if not getattr(dataset, "reads_user_vectors", True):
            raise ValueError(f"{type(self).__name__} aligns users' vectors too: config key llm_user_vectors must be "
                             f"True for it (False reads item vectors only, for AlphaRec)")
        # Row 0 (the [PAD] user) and row n_users (the [PAD] item) have no text: never align them.
        rows = torch.arange(self.n_users + self.n_items)
        rows = rows[(rows != 0) & (rows != self.n_users)]
        if hides_unseen_items(config):
            seen = torch.zeros(self.n_items, dtype=torch.bool)
            seen[torch.from_numpy(training_items(dataset))] = True
            rows = rows[(rows < self.n_users) | seen[(rows - self.n_users).clamp(min=0)]]
        self.register_buffer("alignable_rows", rows, persistent=False)
        self._check_embeddings_reachable()
        self.cf_dim = int(self.collaborative_dim(config))
        self._capturing = False
        self._captured = None
        self._refused_pair = False

    @property
    def loss_names(self):
        return tuple(self.base_loss_names) + tuple(self.alignment_loss_names)

    def forward(self, *args, **kwargs):
        output = super().forward(*args, **kwargs)
        if self._capturing:
            if self._is_clean_call(args, kwargs):
                self._capturing = False
                self._captured = output
            elif self._is_table_pair(output):
                self._refused_pair = True
        return output

    def _is_clean_call(self, args, kwargs):
        # The backbone's own answer (SimGCL, SGLTerms define is_clean_forward), else: no arguments.
        is_clean_forward = getattr(self, "is_clean_forward", None)
        if is_clean_forward is not None:
            return is_clean_forward(args, kwargs)
        return not args and not kwargs

    def clean_tables(self):
        r"""E^C outside a training step: the clean propagation that ``calculate_loss`` aligns, before
        any ``darec_score`` representation (SGL's over its training graph)."""
        args = (self.train_graph,) if hasattr(self, "train_graph") else ()
        return LLMAlignedRecommender.forward(self, *args)

    def collaborative_dim(self, config):
        r"""Width of the tables :meth:`collaborative_embeddings` returns."""
        return config["embedding_size"]

    def collaborative_embeddings(self, interaction):
        r"""``(user table, item table)`` of this training step: E^C before stacking."""
        if self._is_table_pair(self._captured):
            return self._captured
        if self._refused_pair:
            raise TypeError(
                f"{type(self).__name__}: the base model's forward returned (user, item) tables during "
                f"calculate_loss, but never from a call that is_clean_forward() accepts, so it is unclear "
                f"which propagation to align. Define is_clean_forward(args, kwargs) on the base model, "
                f"true for the call its ranking loss and prediction use.")
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
        overridden = type(self).collaborative_embeddings is not LLMAlignedRecommender.collaborative_embeddings
        has_tables = isinstance(getattr(self, "user_embedding", None), nn.Embedding) and isinstance(
            getattr(self, "item_embedding", None), nn.Embedding
        )
        if not (overridden or has_tables):
            base = next(c for c in type(self).__mro__[1:] if not issubclass(c, LLMVectorInput))
            raise TypeError(
                f"{type(self).__name__}: the alignment needs user and item embedding tables, but "
                f"{base.__name__} has no nn.Embedding attributes user_embedding and "
                f"item_embedding. If it represents users and items in another way, override "
                f"collaborative_embeddings() to return (user table, item table); models without "
                f"such representations (e.g. Pop, ItemKNN, EASE) cannot be aligned."
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

    def alignment_losses(self, user_table, item_table, interaction):
        r"""The weighted alignment terms of this step, one per ``alignment_loss_names``."""
        raise NotImplementedError

    def calculate_loss(self, interaction):
        self._capturing, self._refused_pair = True, False
        try:
            base_terms = self.base_loss(interaction)
            user_table, item_table = self.collaborative_embeddings(interaction)
            self._check_tables(user_table, item_table)
        finally:
            self._capturing, self._captured = False, None
        if not self.alignment_loss_names:
            return base_terms
        terms = self.alignment_losses(user_table, item_table, interaction)
        if self.base_loss_reduction == "sum":
            terms = tuple(len(interaction) * value for value in terms)
        return base_terms + tuple(terms)
