r"""
AlphaRec
################################################
Reference:
    Leheng Sheng et al. "Language Representations Can be What Recommenders Need: Findings and
    Potentials." in ICLR 2025 (arXiv 2407.05441); code: github.com/LehengTHU/AlphaRec.

A text-first collaborative filter: the language-model vectors are the model's input, and there
are no ID embeddings. An item's input is its language vector; a user's is the mean of the
language vectors of the user's *training* items. One MLP, shared by users and items, maps the
inputs to ``embedding_size``; LightGCN's propagation over the training graph (mean of the layers)
follows; a user-item score is the cosine of their final vectors. Training is InfoNCE over the
L2-normalised vectors: each positive pair against ``alpharec_negatives`` items drawn uniformly
inside the loss, on the model's device (RecBole's sampler would repeat every positive row once per
negative). Because nothing is learned per id, an item that no one has interacted with is ranked
from its text alone (a row of the training graph without edges keeps its MLP output).

Where ours differs from the authors' code, and why:
    * Hidden width: theirs is d_L times a per-encoder multiplier that keeps the first layer at
      about 4.7M weights for the encoders they list (3072-d text-embedding-3-large: 1536); any
      other encoder gets 9/32 d_L, the 4096-d models' multiplier, which gives 108 for
      all-MiniLM-L6-v2's 384 (41k weights; 4.7M would take about 12k). Ours is the config key
      ``alpharec_hidden_size``, default 108, their code's value for this width; docs/alpharec.md
      has the validation sweep against 1024.
    * Negatives: theirs come from their data loader; ours are drawn uniformly over all items
      (the [PAD] item excluded) inside the loss. A negative may be one of the user's positives,
      as in uniform sampling without rejection; with hundreds of items and 256 draws this is rare.
    * The user's own vector: their code has none (an option learns a free user table instead);
      ``llm_user_vectors: True`` adds it here, averaged with the items' mean, off by default.
    * Their optimiser is Adam, lr 5e-4, no weight decay, batch 4096, and their loss has no L2
      term: our yaml has the same, but a config file read later (ml-100k's demo yaml sets
      learning_rate 0.002, batch 2048) wins, as in any RecBole model. RecBole's negative sampler
      must stay off (``train_neg_sample_args: ~``); a config that turns it on is refused.

Config keys (defaults in ``properties/model/AlphaRec.yaml``):
    embedding_size (int): width of the final vectors (theirs: 64).
    n_layers (int): LightGCN layers (theirs: 2); 0 = the MLP alone.
    alpharec_hidden_size (int): hidden width of the MLP.
    alpharec_tau (float): InfoNCE temperature (theirs: 0.15).
    alpharec_negatives (int): uniformly drawn negatives per positive (theirs: 256).
    hide_unseen_items (bool): draw negatives only among items with a training interaction (the
        cold-start protocol; recbole_darec/protocol.py). Default False: every item.
    and the vector keys of :class:`~recbole_darec.model.llm_vector_input.LLMVectorInput`
    (``llm_user_vectors`` defaults to False here: a user's input is its items' mean).
"""

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from recbole.model.general_recommender.lightgcn import LightGCN
from recbole.utils import InputType
from torch import nn

from recbole_darec.config_checks import config_value
from recbole_darec.model.llm_vector_input import LLMVectorInput
from recbole_darec.protocol import hides_unseen_items, training_items


def mean_of_training_items(interaction_matrix):
    r"""The (users x items) sparse matrix whose row u averages the items user u interacted with in
    ``interaction_matrix`` (the training split's); a user without items has an empty row."""
    matrix = sp.csr_matrix(interaction_matrix, dtype=np.float32)
    matrix.data[:] = 1.0  # an item counts once per user, however often it occurs
    counts = np.asarray(matrix.sum(axis=1)).ravel()
    weights = sp.diags(np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)) @ matrix
    weights = weights.tocoo()
    indices = torch.from_numpy(np.vstack([weights.row, weights.col]).astype(np.int64))
    return torch.sparse_coo_tensor(indices, torch.from_numpy(weights.data), weights.shape,
                                   check_invariants=True).coalesce()


class AlphaRec(LLMVectorInput, LightGCN):
    input_type = InputType.POINTWISE

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        # No ID embeddings: LightGCN's tables would be parameters that nothing trains.
        del self.user_embedding, self.item_embedding
        self.tau = float(config["alpharec_tau"])
        self.n_negatives = int(config["alpharec_negatives"])
        hidden = int(config["alpharec_hidden_size"])
        for key, value in (("alpharec_tau", self.tau), ("alpharec_negatives", self.n_negatives),
                           ("alpharec_hidden_size", hidden)):
            if value <= 0:
                raise ValueError(f"config key {key} must be > 0, got {value}")
        if self.n_layers < 0:
            raise ValueError(f"config key n_layers must be >= 0, got {self.n_layers}")
        sampler = config["train_neg_sample_args"] or {}
        if sampler.get("distribution", "none") != "none":
            raise ValueError(
                f"AlphaRec draws its negatives inside the loss, but config key train_neg_sample_args is {sampler}: "
                f"RecBole would add its sampled items to the batch as rows that the loss reads as positives. Set "
                f"train_neg_sample_args: ~ (a config file read after AlphaRec.yaml sets it).")
        # The user-item matrix of the training split only: RecBole gives the model train_data's dataset.
        self.register_buffer("user_item_mean", mean_of_training_items(self.interaction_matrix), persistent=False)
        self.user_own_vectors = bool(config_value(config, "llm_user_vectors", False))
        # hide_unseen_items: only items with a training interaction are drawn (a new item does not
        # exist at training time); else every real item, as the authors' code.
        pool = training_items(dataset) if hides_unseen_items(config) else np.arange(1, self.n_items)
        self.register_buffer("negative_pool", torch.as_tensor(pool, dtype=torch.long), persistent=False)
        self.encoder = nn.Sequential(nn.Linear(self.llm_dim, hidden), nn.LeakyReLU(), nn.Linear(hidden, self.latent_dim))

    def input_vectors(self):
        r"""(users x d_L, items x d_L): what the MLP reads."""
        user_vectors, item_vectors = self.llm_vectors[: self.n_users], self.llm_vectors[self.n_users:]
        users = torch.sparse.mm(self.user_item_mean, item_vectors)
        if self.user_own_vectors:
            users = (users + user_vectors) / 2
        return users, item_vectors

    def get_ego_embeddings(self):
        r"""The MLP of every user's and item's input. A user's input is an average of item vectors,
        and the first layer is affine, so its user rows are the same average of the items' rows:
        one item-sized product and a sparse average instead of a user-sized product (on Steam,
        23k users against 5k items), the same numbers up to rounding."""
        first, activation, second = self.encoder
        own_vectors, item_vectors = self.llm_vectors[: self.n_users], self.llm_vectors[self.n_users:]
        items = item_vectors @ first.weight.T
        users = torch.sparse.mm(self.user_item_mean, items)
        if self.user_own_vectors:
            users = (users + own_vectors @ first.weight.T) / 2
        return second(activation(torch.cat([users, items]) + first.bias))

    def forward(self):
        # L2-normalised, so that LightGCN's dot-product predict / full_sort_predict score the cosine.
        users, items = super().forward()
        return F.normalize(users, dim=1), F.normalize(items, dim=1)

    no_text_path = None

    def item_rows_from_text(self, item_vectors):
        # An item without training edges: every propagated layer of it is zero, so its final
        # vector is its MLP output / (n_layers + 1), which the normalisation undoes.
        return F.normalize(self.encoder(item_vectors), dim=1)

    def calculate_loss(self, interaction):
        self.restore_user_e, self.restore_item_e = None, None
        users, items = self.forward()
        user_rows = users[interaction[self.USER_ID]]
        positives = items[interaction[self.ITEM_ID]]
        # Uniform over the pool (the real items 1..n_items-1 unless hide_unseen_items; 0 is [PAD]).
        draws = torch.randint(0, len(self.negative_pool), (len(user_rows), self.n_negatives), device=users.device)
        negative_ids = self.negative_pool[draws]
        if self.n_items <= FULL_SCORES_ITEMS_PER_NEGATIVE * self.n_negatives:
            # Scoring every item and picking the drawn ones is one matrix product; gathering B x K
            # rows of d and its scatter-add backward cost about 8x more on CPU at ml-100k's size
            # (run_scripts/bench_overhead.py has the epoch times).
            negative_scores = (user_rows @ items.T).gather(1, negative_ids)
        else:
            negative_scores = torch.einsum("bd,bkd->bk", user_rows, items[negative_ids])
        return alpharec_infonce((user_rows * positives).sum(dim=1), negative_scores, self.tau)


# Up to this many items per drawn negative, the loss scores all items at once; beyond, it gathers
# the drawn rows. One CPU core, B 4096, d 64: scoring all is 8x faster at 7 items a negative, 4x at
# 20, equal at about 80; 32 keeps a margin for the all-items product's memory (B x items floats).
FULL_SCORES_ITEMS_PER_NEGATIVE = 32


def alpharec_infonce(positive_scores, negative_scores, tau):
    r"""``mean_b -log( e^{s(u,p)/tau} / (e^{s(u,p)/tau} + sum_k e^{s(u,n_k)/tau}) )`` from the dot
    products of the (already normalised) rows: positive_scores (B), negative_scores (B x K)."""
    logits = torch.cat([positive_scores.unsqueeze(1), negative_scores], dim=1) / tau
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()
