from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, init_seed

from conftest import tiny_config


def build(root, model="DaRecLightGCN", dataset="tiny", **overrides):
    r"""Config, datasets and model exactly as RecBole's run_recbole builds them."""
    config = Config(model=model, dataset=dataset, config_dict=tiny_config(root, **overrides))
    init_seed(config["seed"], config["reproducibility"])
    full = create_dataset(config)
    train, valid, test = data_preparation(config, full)
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train._dataset)
    model.train()  # as RecBole's trainer does before each epoch (SGL builds its subgraphs here)
    return config, full, (train, valid, test), model


def first_batch(train):
    return next(iter(train))
