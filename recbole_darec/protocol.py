r"""What the protocol lets a model see: which items a user's test ranking leaves out (RecBole's
rule or RLMRec's), and whether items that have no training interaction exist during training.

RecBole's full-ranking test masks every item the user met in training *and validation*; RLMRec
(and so DaRec's and RLMRec's published tables) masks only the training items, so a validation
item can take a test top-k slot. The config key ``test_history`` picks:

* ``train_valid`` (RecBole's behaviour; also when the key is unset);
* ``train`` (RLMRec's; ``properties/rlmrec.yaml`` sets it).

Validation masks the training items under both. docs/datasets.md measures the difference.

``hide_unseen_items`` (default False, RecBole's behaviour): when True, an item with no training
interaction does not exist for training, as a new item would not: RecBole's training sampler
never draws it as a negative, AlphaRec's loss never draws it, and DaRec and RLMRec-Gen never align
its row. The cold-start protocol (``properties/cold-start.yaml``) sets it; without it every model
learns that the cold items are never positives (docs/cold-start.md).
"""

import numpy as np
import torch

from recbole_darec.config_checks import checked_bool, checked_choice, config_value

TEST_HISTORIES = ("train_valid", "train")


def _test_history(config):
    value = config["test_history"] if "test_history" in config else None
    return checked_choice("test_history", "train_valid" if value is None else value, TEST_HISTORIES)


def mask_only_training_items(loader, sampler):
    r"""Make a test :class:`FullSortEvalDataLoader` mask each user's training items only."""
    train = sampler.datasets[sampler.phases.index("train")]
    users = train.inter_feat[train.uid_field].numpy()
    items = train.inter_feat[train.iid_field].numpy()
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    bounds = np.searchsorted(users, np.arange(len(loader.uid2history_item) + 1))
    for uid in loader.uid_list.tolist():
        positives = set(loader.uid2positive_item[uid].tolist())
        history = [i for i in items[bounds[uid]:bounds[uid + 1]].tolist() if i not in positives]
        loader.uid2history_item[uid] = torch.tensor(history, dtype=torch.int64)


def apply_test_history_option():
    from recbole.data.dataloader.general_dataloader import FullSortEvalDataLoader

    original = FullSortEvalDataLoader.__init__
    if getattr(original, "_recbole_darec", False):
        return

    def __init__(self, config, dataset, sampler, shuffle=False):
        original(self, config, dataset, sampler, shuffle=shuffle)
        if (_test_history(config) == "train" and not self.is_sequential
                and getattr(sampler, "phase", None) == "test"):
            mask_only_training_items(self, sampler)

    __init__._recbole_darec = True
    FullSortEvalDataLoader.__init__ = __init__


def hides_unseen_items(config):
    return checked_bool("hide_unseen_items", config_value(config, "hide_unseen_items", False))


def training_items(dataset):
    r"""The ids of the items with at least one interaction in ``dataset`` (the training split), sorted."""
    return np.unique(dataset.inter_feat[dataset.iid_field].numpy())


class SeenItemsUniform:
    r"""A training sampler's uniform draw restricted to ``items`` (picklable, as RecBole may save
    its dataloaders)."""

    def __init__(self, items):
        self.items = np.asarray(items, dtype=np.int64)

    def __call__(self, sample_num):
        return self.items[np.random.randint(0, len(self.items), sample_num)]


def hide_unseen_items_in_sampler(loader, config):
    r"""Make training loader ``loader``'s sampler draw only training items when ``config`` hides the
    others, and RecBole's uniform draw otherwise."""
    sampler = loader._sampler
    if sampler is None or loader.neg_sample_args["distribution"] == "none":
        return
    if not hides_unseen_items(config):
        vars(sampler).pop("_uni_sampling", None)
        return
    if loader.neg_sample_args["distribution"] != "uniform":
        raise ValueError(f"config key hide_unseen_items: True needs train_neg_sample_args' distribution "
                         f"'uniform', got {loader.neg_sample_args['distribution']!r}")
    pool = training_items(loader._dataset)
    if max((len(used) for used in sampler.used_ids), default=0) >= len(pool):
        # The sampler redraws a user's positives: it would never find a negative for this user.
        raise ValueError(f"config key hide_unseen_items: a user has interacted with all {len(pool)} items of "
                         f"the training split, so none is left to draw as its negative")
    sampler._uni_sampling = SeenItemsUniform(pool)


def apply_unseen_items_option():
    from recbole.data.dataloader.general_dataloader import TrainDataLoader

    original_init, original_update = TrainDataLoader.__init__, TrainDataLoader.update_config
    if getattr(original_init, "_recbole_darec", False):
        return

    def __init__(self, config, dataset, sampler, shuffle=False):
        original_init(self, config, dataset, sampler, shuffle=shuffle)
        hide_unseen_items_in_sampler(self, config)

    def update_config(self, config):
        # RecBole hands reloaded saved dataloaders (save_dataloaders) the run's config here.
        original_update(self, config)
        hide_unseen_items_in_sampler(self, config)

    __init__._recbole_darec = True
    TrainDataLoader.__init__ = __init__
    TrainDataLoader.update_config = update_config
