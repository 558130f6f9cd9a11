r"""
RLMRecSGL
################################################
Reference:
    Jiancan Wu et al. "Self-supervised Graph Learning for Recommendation." in SIGIR 2021.
    Xubin Ren et al. "Representation Learning with Large Language Models for Recommendation."
    in WWW 2024 (arXiv 2310.15950): the SGL of its code (``encoder/models/general_cf/sgl.py``),
    whose numbers fill its Table 1.

RecBole's SGL (BPR on the full graph, InfoNCE between two edge-dropped views against all users /
items, ``full_sort_predict``) with RLMRec's layer *sum* by default: on RLMRec's splits that one
choice takes SGL from half the published Recall@20 to within 1% on Amazon-book
(docs/datasets.md). RLMRec's loss and per-step views (``reg_scope: tables``,
``ssl_negative_items: True``, ``view_sampling: step``) are the [choice]s of :class:`SGLTerms`,
which every aligned SGL shares; with them this model meets the published Yelp number too.

Config keys: those of :class:`~recbole_darec.model.sgl_terms.SGLTerms`; the default of
layer_combination is ``sum`` here (``properties/model/RLMRecSGL.yaml``), the others RecBole's.
"""

from recbole_darec.model.sgl_terms import SGLTerms


class RLMRecSGL(SGLTerms):
    r"""SGL as RLMRec trains it: layers summed, and (switchable) its loss and per-step views."""

    def calculate_loss(self, interaction):
        bpr_reg, ssl = super().calculate_loss(interaction)
        return bpr_reg + ssl
