from conftest import tiny_config
from recbole_darec.experiments.build import build as build_experiment


def build(root, model="DaRecLightGCN", dataset="tiny", **overrides):
    r"""Config, datasets and model of the tiny dataset, exactly as RecBole's run_recbole builds them."""
    return build_experiment(model, dataset, config_dict=tiny_config(root, **overrides))


def first_batch(train):
    return next(iter(train))
