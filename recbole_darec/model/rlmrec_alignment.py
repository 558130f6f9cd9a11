r"""
RLMRec's mapping MLP
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950).

The MLP both point-wise alignments DaRec argues against use: RLMRec-Con maps each language-model
vector into the collaborative space and pulls the user's / item's collaborative vector towards
it; RLMRec-Gen maps the propagated vectors of masked users and items into the language-model
space and asks each to pick out its own language-model vector. Both score with
``contrastive.info_nce``.
"""

import torch.nn as nn


def mapping_mlp(in_dim, out_dim):
    r"""RLMRec's mapping: Linear(in, (in + out) // 2) -> LeakyReLU -> Linear(., out), Xavier weights."""
    hidden = (in_dim + out_dim) // 2
    mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(), nn.Linear(hidden, out_dim))
    for layer in mlp:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return mlp
