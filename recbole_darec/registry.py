r"""Registration of our models into RecBole 1.2.1's name-based lookups.

RecBole resolves a model name in three places, each by name:
* ``recbole.utils.get_model`` imports ``recbole.model.general_recommender.<name lower>``;
* ``recbole.data.create_dataset`` looks for ``recbole.data.dataset.<Name>Dataset``;
* ``recbole.utils.get_trainer`` looks for ``recbole.trainer.<Name>Trainer``.
and ``Config`` reads model defaults from ``recbole/properties/model/<Name>.yaml``.

Our modules are aliased under the first path, DaRec models get :class:`DaRecDataset` and
:class:`DaRecTrainer` under the other two, and ``Config`` is taught to read our yaml files (see
:func:`model_defaults`) in RecBole's usual order: overall.yaml < model defaults < RecBole's
dataset yaml < config files < config_dict < command line.
"""

import importlib
import os
import sys

import yaml

from recbole_darec_autoload import MODEL_MODULES

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


def _is_ours(model_class):
    return getattr(model_class, "__module__", "").startswith("recbole_darec.")


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


def register_models():
    import recbole.data.dataset as recbole_datasets
    import recbole.model.general_recommender as general_recommender
    import recbole.trainer as recbole_trainers

    from recbole_darec.data.dataset import DaRecDataset
    from recbole_darec.model.darec_recommender import DaRecRecommender
    from recbole_darec.trainer import DaRecTrainer

    _patch_config()
    for name, module_name in MODEL_MODULES.items():
        module = importlib.import_module(module_name)
        model_class = getattr(module, name)
        sys.modules.setdefault(f"recbole.model.general_recommender.{name.lower()}", module)
        setattr(general_recommender, name, model_class)
        if issubclass(model_class, DaRecRecommender):
            setattr(recbole_datasets, f"{name}Dataset", DaRecDataset)
            setattr(recbole_trainers, f"{name}Trainer", DaRecTrainer)
