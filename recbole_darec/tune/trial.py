r"""One trial of a sweep: train through RecBole's trainer, report validation, never touch test.

:func:`run_trial` builds RecBole's config, dataset and trainer as ``run_recbole`` does (same seeds,
so the best trial is reproduced exactly by the final run), but splits the data with
:func:`search_loaders`: the test part is dropped right after the split, before any sampler or
loader exists, so nothing the search does can depend on it. After every evaluation step RecBole's
``fit`` runs our callback, which reports the *validation* metrics; Ray Tune's schedulers (ASHA,
median stopping) act on those reports. :func:`ray_trainable` adapts it to Ray Tune.
"""

import os
import sys

VALID_PREFIX = "valid_"


def search_loaders(config, dataset):
    r"""Training and validation loaders of ``dataset``, split as RecBole would, without a test loader.

    RecBole's ``data_preparation`` builds all three; its samplers take every split. Here the
    sampler sees only training and validation, which is all that training negatives (training
    phase) and validation masking (training + validation phase) ever read in RecBole either.
    """
    from recbole.data.utils import get_dataloader
    from recbole.sampler import Sampler
    from recbole.utils import ModelType

    if config["MODEL_TYPE"] != ModelType.GENERAL:
        raise ValueError(f"recbole_darec.tune sweeps general recommenders; {config['model']} is "
                         f"{config['MODEL_TYPE'].name.lower()}")
    train_dataset, valid_dataset = dataset.build()[:2]
    phases, splits = ["train", "valid"], [train_dataset, valid_dataset]
    train_args, valid_args = config["train_neg_sample_args"], config["valid_neg_sample_args"]
    base_sampler = None
    if train_args["distribution"] != "none":
        base_sampler = Sampler(phases, splits, train_args["distribution"], train_args["alpha"])
    train_sampler = base_sampler.set_phase("train") if base_sampler else None
    valid_sampler = None
    if valid_args["distribution"] != "none":
        if base_sampler is None:
            base_sampler = Sampler(phases, splits, valid_args["distribution"])
        base_sampler.set_distribution(valid_args["distribution"])
        valid_sampler = base_sampler.set_phase("valid")
    train_data = get_dataloader(config, "train")(config, train_dataset, train_sampler, shuffle=config["shuffle"])
    valid_data = get_dataloader(config, "valid")(config, valid_dataset, valid_sampler, shuffle=False)
    return train_data, valid_data


def _device_settings():
    r"""RecBole's Config overwrites CUDA_VISIBLE_DEVICES with ``gpu_id``: hand it Ray's choice."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return {"use_gpu": True, "gpu_id": visible}
    return {"use_gpu": False}


def run_trial(params, spec, report):
    r"""Train ``spec['model']`` on ``spec['dataset']`` with ``params``; ``report(dict)`` per evaluation.

    ``spec``: ``model``, ``dataset``, ``config_files`` (absolute), ``overrides`` (a dict whose paths
    are absolute) and ``threads``. Returns the final report (best validation score and result).
    """
    import recbole_darec  # noqa: F401  (registers our models in this process: a Ray worker may not have)
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset
    from recbole.utils import get_model, get_trainer, init_seed

    sys.argv = sys.argv[:1]  # RecBole's Config parses argv; a Ray worker's flags are not settings
    torch.set_num_threads(max(1, int(spec.get("threads", 1))))
    config_dict = {**spec["overrides"], **_device_settings(), **params,
                   "state": "ERROR", "show_progress": False}
    config = Config(model=spec["model"], dataset=spec["dataset"], config_file_list=spec["config_files"],
                    config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data = search_loaders(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    latest = {}
    original_valid_epoch = trainer._valid_epoch

    def valid_epoch(*args, **kwargs):
        score, result = original_valid_epoch(*args, **kwargs)
        latest.update(result)
        return score, result

    trainer._valid_epoch = valid_epoch

    def after_evaluation(epoch, valid_score):
        # RecBole's fit calls back before it acts on its own stop flag; this is that flag.
        recbole_stops = trainer.cur_step > trainer.stopping_step or epoch + 1 >= trainer.epochs
        report({"valid_score": float(valid_score), "best_valid_score": float(trainer.best_valid_score),
                "epoch": epoch + 1, "recbole_stops": bool(recbole_stops),
                **{VALID_PREFIX + k: float(v) for k, v in latest.items()}})

    best_score, best_result = trainer.fit(train_data, valid_data, verbose=False, saved=False,
                                          callback_fn=after_evaluation)
    return {"best_valid_score": float(best_score),
            **{f"best_{VALID_PREFIX}{k}": float(v) for k, v in (best_result or {}).items()}}


def ray_trainable(params, spec):
    r"""Ray Tune function trainable (bind ``spec`` with ``tune.with_parameters``)."""
    from ray import tune

    run_trial(params, spec, tune.report)
