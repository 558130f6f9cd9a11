r"""How a graph model turns its propagated layers into one embedding: RecBole's and the papers'
``mean``, or RLMRec's ``sum``. Shared by every backbone that offers the ``layer_combination``
config key, so that the choice means the same thing, and is refused the same way, everywhere.

Summing L+1 layers makes every embedding L+1 times longer than their mean and every dot-product
score (L+1)^2 times larger: the BPR sigmoid leaves its flat centre far sooner at the same
learning rate (measured on RLMRec's Yelp split, docs/datasets.md). Cosine losses (InfoNCE) do not
see the difference.
"""

import torch

from recbole_darec.config_checks import checked_choice

LAYER_COMBINATIONS = ("mean", "sum")


def checked_layer_combination(value):
    r"""``value`` if it names a layer combination, else a ValueError naming the config key."""
    return checked_choice("layer_combination", value, LAYER_COMBINATIONS)


def combine_layers(layers, how):
    r"""The ``how`` (``mean`` | ``sum``) of the equally shaped tensors in ``layers``."""
    stacked = torch.stack(layers, dim=1)
    return stacked.sum(dim=1) if how == "sum" else stacked.mean(dim=1)
