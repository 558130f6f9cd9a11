r"""
SimGCLGen
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Gen.
    Junliang Yu et al. "Are Graph Augmentations Necessary? Simple Graph Contrastive Learning
    for Recommendation." in SIGIR 2022.

SimGCL (ours) trained on masked ego embeddings (the clean and both noisy propagations see the
same mask) and RLMRec-Gen's reconstruction from the clean propagation.

Config keys: SimGCL's (embedding_size, n_layers, reg_weight, eps, cl_weight, cl_tau, include_ego,
layer_combination, reg_scope, cl_negatives)
and the RLMRec-Gen keys documented in :mod:`recbole_darec.model.rlmrec_gen_recommender`.
"""

from recbole_darec.model.rlmrec_gen_recommender import RLMRecGenRecommender
from recbole_darec.model.simgcl import SimGCL


class SimGCLGen(RLMRecGenRecommender, SimGCL):
    base_loss_names = ("bpr_reg", "cl")
