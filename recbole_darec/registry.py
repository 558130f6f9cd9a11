r"""Registration of our models into RecBole 1.2.1's name-based lookups.

RecBole resolves a model name in three places, each by name:
* ``recbole.utils.get_model`` imports ``recbole.model.general_recommender.<name lower>``;
* ``recbole.data.create_dataset`` looks for ``recbole.data.dataset.<Name>Dataset``;
* ``recbole.utils.get_trainer`` looks for ``recbole.trainer.<Name>Trainer``.
and ``Config`` reads model defaults from ``recbole/properties/model/<Name>.yaml``.

Our modules are aliased under the first path, DaRec models get :class:`DaRecDataset` and
:class:`DaRecTrainer` under the other two, and ``Config`` is taught to read our yaml files (see
:func:`model_defaults`) in RecBole's usual order: overall.yaml < model defaults < RecBole's
dataset yaml < config files < config_dict < command line. A name that matches no model (RecBole's
or registered) stops ``get_model`` with the nearest real names (:func:`unknown_model_message`).
"""

import functools
import importlib
import importlib.machinery
import os
import sys
import types

import yaml


# name -> module: the one list of the models this package registers into RecBole. A process
# that never imports us still finds them through recbole_darec_autoload, which knows no names.
MODEL_MODULES = {
    "SimGCL": "recbole_darec.model.simgcl",
    "RLMRecLightGCN": "recbole_darec.model.rlmreclightgcn",
    "RLMRecSGL": "recbole_darec.model.rlmrecsgl",
    "DaRecLightGCN": "recbole_darec.model.dareclightgcn",
    "DaRecSGL": "recbole_darec.model.darecsgl",
    "DaRecSimGCL": "recbole_darec.model.darecsimgcl",
    "DaRecBPR": "recbole_darec.model.darecbpr",
    "DaRecNGCF": "recbole_darec.model.darecngcf",
    "LightGCNCon": "recbole_darec.model.lightgcncon",
    "LightGCNGen": "recbole_darec.model.lightgcngen",
    "SGLCon": "recbole_darec.model.sglcon",
    "SGLGen": "recbole_darec.model.sglgen",
    "SimGCLCon": "recbole_darec.model.simgclcon",
    "SimGCLGen": "recbole_darec.model.simgclgen",
    "AlphaRec": "recbole_darec.model.alpharec",
}

OUR_MODEL_PROPERTIES = os.path.join(os.path.dirname(__file__), "properties", "model")


def _recbole_properties():
    import recbole

    return os.path.join(os.path.dirname(recbole.__file__), "properties")


def model_defaults(model_class, loader=yaml.FullLoader):
    r"""Defaults of one of our models: the yaml of every class in its MRO, base classes first
    (so DaRecLightGCN = LightGCN.yaml, then DaRecRecommender.yaml, then DaRecLightGCN.yaml)."""
    folders = [os.path.join(_recbole_properties(), "model"), OUR_MODEL_PROPERTIES]
    defaults = {}
    for cls in reversed(model_class.__mro__):
        for folder in folders:
            path = os.path.join(folder, f"{cls.__name__}.yaml")
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    defaults.update(yaml.load(f.read(), Loader=loader) or {})
    return defaults


def _dataset_yaml_keys(dataset, loader):
    keys = set()
    folder = os.path.join(_recbole_properties(), "dataset")
    for path in (os.path.join(folder, "sample.yaml"), os.path.join(folder, f"{dataset}.yaml")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                keys.update((yaml.load(f.read(), Loader=loader) or {}).keys())
    return keys


# Every class registered through register_model (ours at import, users' later), by lower name.
_REGISTERED = {}


def _is_ours(model_class):
    return any(model_class is registered for registered in _REGISTERED.values())


def _patch_config():
    from recbole.config import Config

    original = Config._load_internal_config_dict
    if getattr(original, "_recbole_darec", False):
        return

    def load_internal_config_dict(self, model, model_class, dataset):
        original(self, model, model_class, dataset)
        if not _is_ours(model_class):
            return
        later = _dataset_yaml_keys(dataset, self.yaml_loader)
        for key, value in model_defaults(model_class, self.yaml_loader).items():
            if key not in later:
                self.internal_config_dict[key] = value

    load_internal_config_dict._recbole_darec = True
    Config._load_internal_config_dict = load_internal_config_dict


def register_model(model_class):
    r"""Make RecBole find ``model_class`` by its class name, as it finds its own models.

    After ``register_model(DaRecMyModel)``, ``run_recbole(model="DaRecMyModel", ...)``,
    ``objective_function`` and ``load_data_and_model`` resolve it; an aligned model (DaRec,
    RLMRec-Con, RLMRec-Gen) and any model that reads the vectors (AlphaRec) also gets
    :class:`DaRecDataset`, and every model gets its defaults from the
    yaml of each class in its MRO (RecBole's and ours); a model with ``loss_names`` gets the
    trainer that logs its loss terms by name. Other processes (Ray workers,
    ``spawn`` children) must import the module that calls this before RecBole looks the name up.
    Returns ``model_class``, so it also works as a class decorator.
    """
    import recbole.data.dataset as recbole_datasets
    import recbole.model.general_recommender as general_recommender
    import recbole.trainer as recbole_trainers

    from recbole_darec.data.dataset import DaRecDataset
    from recbole_darec.model.llm_vector_input import LLMVectorInput
    from recbole_darec.trainer import DaRecTrainer

    name = model_class.__name__
    module_name = f"recbole.model.general_recommender.{name.lower()}"
    recbole_file = os.path.join(os.path.dirname(general_recommender.__file__), f"{name.lower()}.py")
    if os.path.isfile(recbole_file):
        raise ValueError(
            f"cannot register {name}: RecBole has its own model of that name ({recbole_file}); "
            f"rename the class"
        )
    previous = _REGISTERED.get(name.lower())
    if previous is not None and previous is not model_class:
        raise ValueError(
            f"cannot register {model_class.__module__}.{name}: {previous.__module__}.{previous.__name__} "
            f"is already registered under the name {name.lower()!r} (RecBole looks models up by "
            f"lower-case name)"
        )
    _patch_config()
    home = sys.modules.get(model_class.__module__)
    if home is not None and getattr(home, "__spec__", None) is not None and getattr(home, name, None) is model_class:
        module = home
    else:
        # A class from __main__ or a notebook: importlib.util.find_spec needs a module with a spec.
        module = types.ModuleType(module_name)
        module.__spec__ = importlib.machinery.ModuleSpec(module_name, None)
        setattr(module, name, model_class)
    sys.modules[module_name] = module
    setattr(general_recommender, name, model_class)
    if issubclass(model_class, LLMVectorInput):
        setattr(recbole_datasets, f"{name}Dataset", DaRecDataset)
    if hasattr(model_class, "loss_names"):
        setattr(recbole_trainers, f"{name}Trainer", DaRecTrainer)
    _REGISTERED[name.lower()] = model_class
    return model_class


def register_models():
    r"""Register every model of this package (:data:`MODEL_MODULES`); {name: class}."""
    models = {name: register_model(getattr(importlib.import_module(module_name), name))
              for name, module_name in MODEL_MODULES.items()}
    _patch_model_lookup()
    return models


_RECBOLE_MODEL_PACKAGES = ("general_recommender", "context_aware_recommender", "sequential_recommender",
                           "knowledge_aware_recommender", "exlib_recommender")


@functools.lru_cache(maxsize=None)
def _recbole_model_files():
    r"""{lower-case name: package} of RecBole's own models, read once from its file names, so no
    optional dependency (lightgbm, xgboost) is imported."""
    import importlib.util
    import pkgutil

    names = {}
    for package in _RECBOLE_MODEL_PACKAGES:
        spec = importlib.util.find_spec(f"recbole.model.{package}")
        for module in pkgutil.iter_modules(spec.submodule_search_locations if spec else []):
            names.setdefault(module.name, package)
    return names


def model_names():
    r"""{lower-case name: package} of every model RecBole can look up: its own and the registered."""
    return {**_recbole_model_files(), **{lower: "general_recommender" for lower in _REGISTERED}}


def _class_name(lower, package):
    r"""The class name of model ``lower`` in ``package``, or ``lower`` when it cannot be imported."""
    try:
        module = importlib.import_module(f"recbole.model.{package}.{lower}")
    except ImportError:
        return lower
    return next((name for name in dir(module) if name.lower() == lower and isinstance(getattr(module, name), type)),
                lower)


def unknown_model_message(model_name):
    r"""Why ``model_name`` names no model, with the nearest names RecBole does know."""
    import difflib

    known = model_names()
    lower = str(model_name).lower()
    if lower in known:
        return (f"config key 'model': no model is called {model_name!r}; model names are case-sensitive, "
                f"expected {_class_name(lower, known[lower])!r}")
    near = [_class_name(name, known[name]) for name in difflib.get_close_matches(lower, known, n=3, cutoff=0.6)]
    hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
    return (f"config key 'model': neither RecBole nor recbole_darec has a model called {model_name!r}{hint} "
            f"(recbole_darec's: {', '.join(MODEL_MODULES)})")


def _patch_model_lookup():
    r"""RecBole's ``get_model`` answers a misspelt name with ``No module named 'lightgbm'`` (its search
    imports the context-aware package on the way) or an ``AttributeError``; make it name the model."""
    import recbole.config.configurator as configurator
    import recbole.quick_start.quick_start as quick_start
    import recbole.utils
    import recbole.utils.utils as utils

    original = utils.get_model
    if getattr(original, "_recbole_darec", False):
        return

    @functools.wraps(original)
    def get_model(model_name):
        if str(model_name).lower() in model_names():
            # A real model: let a missing optional dependency (LightGBM's lightgbm) speak for itself,
            # unless only the case of the name is wrong.
            try:
                return original(model_name)
            except AttributeError as error:
                raise ValueError(unknown_model_message(model_name)) from error
        raise ValueError(unknown_model_message(model_name))

    get_model._recbole_darec = True
    for module in (utils, recbole.utils, configurator, quick_start):
        module.get_model = get_model
