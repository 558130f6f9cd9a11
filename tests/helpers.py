from conftest import tiny_config
from recbole_darec.experiments.build import build as build_experiment


def build(root, model="DaRecLightGCN", dataset="tiny", **overrides):
    r"""Config, datasets and model of the tiny dataset, exactly as RecBole's run_recbole builds them."""
    # On the CPU even where a GPU is present: the tests' hand computations and batches are CPU tensors.
    return build_experiment(model, dataset, config_dict={"use_gpu": False, **tiny_config(root, **overrides)})


def first_batch(train):
    return next(iter(train))
