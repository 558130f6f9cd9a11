r"""
DaRecSimGCL
################################################
Reference:
    Xihong Yang et al. "DaRec: A Disentangled Alignment Framework for Large Language Model and
    Recommender System." in ICDE 2025 (arXiv 2408.08231).
    Junliang Yu et al. "Are Graph Augmentations Necessary? Simple Graph Contrastive Learning for
    Recommendation." in SIGIR 2022.

SimGCL (ours, :mod:`recbole_darec.model.simgcl`) trained with BPR + reg, its contrastive term and
lambda * DaRec's terms. E^C is the clean (noise-free) propagation that SimGCL's BPR term uses;
the noisy views only feed the contrastive term. Prediction is SimGCL's own.

Config keys: SimGCL's (embedding_size, n_layers, reg_weight, require_pow, eps, cl_weight, cl_tau,
include_ego, layer_combination, reg_scope, cl_negatives)
and the DaRec keys documented in :mod:`recbole_darec.model.darec_recommender`.
"""

from recbole_darec.model.darec_recommender import DaRecRecommender
from recbole_darec.model.simgcl import SimGCL


class DaRecSimGCL(DaRecRecommender, SimGCL):
    base_loss_names = ("bpr_reg", "cl")
    ranks_with_representation = True
