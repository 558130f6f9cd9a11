r"""Config, datasets and model, built in the order RecBole's ``run_recbole`` builds them."""


def build(model, dataset, config_files=None, config_dict=None, train_mode=True):
    r"""``(config, dataset, (train, valid, test), model)`` for ``model`` on ``dataset``: the
    seed is set before the data and again before the model, as ``run_recbole`` does, so the
    model's initial weights are those of a RecBole run of the same setting. ``train_mode`` puts the
    model in training mode, as RecBole's trainer does before each epoch (SGL builds its subgraphs
    there)."""
    import recbole_darec  # noqa: F401  (registers our models)
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, init_seed

    config = Config(model=model, dataset=dataset, config_file_list=config_files, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    full = create_dataset(config)
    train, valid, test = data_preparation(config, full)
    init_seed(config["seed"], config["reproducibility"])
    instance = get_model(config["model"])(config, train._dataset).to(config["device"])
    if train_mode:
        instance.train()
    return config, full, (train, valid, test), instance
