r"""
SimGCLCon
################################################
Reference:
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950), RLMRec-Con.
    Junliang Yu et al. "Are Graph Augmentations Necessary? Simple Graph Contrastive Learning
    for Recommendation." in SIGIR 2022.

SimGCL (ours) trained with BPR + reg, its contrastive term and RLMRec-Con's alignment of its
clean (noise-free) propagation.

Config keys: SimGCL's (embedding_size, n_layers, reg_weight, eps, cl_weight, cl_tau, include_ego,
layer_combination, reg_scope, cl_negatives)
and the RLMRec-Con keys documented in :mod:`recbole_darec.model.rlmrec_con_recommender`.
"""

from recbole_darec.model.rlmrec_con_recommender import RLMRecConRecommender
from recbole_darec.model.simgcl import SimGCL


class SimGCLCon(RLMRecConRecommender, SimGCL):
    base_loss_names = ("bpr_reg", "cl")
