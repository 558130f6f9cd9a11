"""RecBole's own name-based lookups find our models, with our defaults in RecBole's order."""

import multiprocessing
import os
import re
import subprocess
import sys

import pytest
from recbole.config import Config
from recbole.data import create_dataset
from recbole.trainer import Trainer
from recbole.utils import get_model, get_trainer

from conftest import tiny_config
from recbole_darec import MODEL_MODULES, DaRecDataset, DaRecTrainer
from recbole_darec.registry import model_defaults

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", sorted(MODEL_MODULES))
def test_recbole_lookups_find_every_model(name):
    model_class = get_model(name)
    assert model_class.__name__ == name
    # Models with several named loss terms get the trainer that logs them; a one-term model
    # (RLMRecLightGCN) keeps RecBole's.
    expected = DaRecTrainer if hasattr(model_class, "loss_names") else Trainer
    assert get_trainer(model_class.type, name) is expected


def test_create_dataset_picks_the_darec_dataset(tiny):
    config = Config(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(tiny))
    assert isinstance(create_dataset(config), DaRecDataset)


def test_defaults_inherit_lightgcn_and_user_settings_win_in_recboles_order(tiny, monkeypatch):
    defaults = model_defaults(get_model("DaRecLightGCN"))
    assert defaults["n_layers"] == 2 and defaults["reg_weight"] == 1e-05  # LightGCN.yaml
    assert defaults["darec_weight"] == 0.1 and defaults["darec_n_clusters"] == 8  # ours
    config_file = tiny / "user.yaml"
    config_file.write_text("darec_weight: 0.3\ndarec_n_clusters: 5\nn_layers: 3\n")
    monkeypatch.setattr(sys, "argv", ["x", "--darec_n_clusters=6"])
    config = Config(model="DaRecLightGCN", dataset="tiny", config_file_list=[str(config_file)],
                    config_dict={"n_layers": 4, "data_path": str(tiny)})
    assert config["darec_weight"] == 0.3  # file beats model default
    assert config["n_layers"] == 4  # dict beats file
    assert config["darec_n_clusters"] == 6  # command line beats everything
    assert config["darec_sample_size"] == 4096 and config["embedding_size"] == 64


def test_recboles_dataset_yaml_beats_model_defaults():
    # RecBole's ml-100k.yaml sets load_col and the split; our model yaml must not undo them.
    config = Config(model="DaRecLightGCN", dataset="ml-100k", config_dict={"state": "ERROR"})
    assert config["load_col"] == {"inter": ["user_id", "item_id", "rating", "timestamp"]}


def test_plain_recbole_models_are_untouched():
    assert get_trainer(get_model("LightGCN").type, "LightGCN") is Trainer
    config = Config(model="LightGCN", dataset="ml-100k", config_dict={"state": "ERROR"})
    assert "darec_weight" not in config.final_config_dict


@pytest.mark.parametrize("name, expected", [
    ("DaRecLightGcn", "case-sensitive, expected 'DaRecLightGCN'"),
    ("lightgcn", "case-sensitive, expected 'LightGCN'"),
    ("DaRecLightGNC", "did you mean 'DaRecLightGCN'"),
    ("NoSuchModel", "neither RecBole nor recbole_darec has a model called 'NoSuchModel'"),
])
def test_a_misspelt_model_name_is_named_not_reported_as_a_missing_lightgbm(name, expected):
    # Unpatched, RecBole says "No module named 'lightgbm'" or raises an AttributeError here.
    import recbole.quick_start.quick_start as quick_start

    with pytest.raises(ValueError, match=re.escape(expected)):
        Config(model=name, dataset="ml-100k", config_dict={"state": "ERROR"})
    with pytest.raises(ValueError, match="config key 'model'"):
        quick_start.get_model(name)  # what run_recbole and load_data_and_model call


def _find_in_fresh_process(code):
    # No import of recbole_darec here: the installed recbole_darec.pth must be enough. PYTHONPATH
    # makes the import it does at start-up find this working tree's recbole_darec_autoload.
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env=env)


@pytest.mark.parametrize("name", ["DaRecLightGCN", "SimGCL", "DaRecNGCF"])
def test_a_process_that_never_imports_us_finds_our_models(name):
    completed = _find_in_fresh_process(
        f"from recbole.utils import get_model\nprint(get_model('{name}').__module__)"
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-1] == f"recbole_darec.model.{name.lower()}"


def test_the_start_up_hook_knows_no_names_and_wakes_only_for_what_recbole_does_not_ship():
    # The registry owns the one list: the hook holds none, and asks the package for any
    # general_recommender module RecBole has no file for; RecBole's own models never wake it.
    completed = _find_in_fresh_process(
        "import importlib.util, sys\n"
        "import recbole_darec_autoload\n"
        "assert not hasattr(recbole_darec_autoload, 'MODEL_MODULES')\n"
        "found = importlib.util.find_spec('recbole.model.general_recommender.lightgcn')\n"
        "print(found.origin.endswith('lightgcn.py'), 'recbole_darec' in sys.modules)\n"
        "print(importlib.util.find_spec('recbole.model.general_recommender.nosuchmodel'), 'recbole_darec' in sys.modules)\n"
        "print(importlib.util.find_spec('recbole.model.general_recommender.alpharec').name)"
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split()[-5:] == ["True", "False", "None", "True",
                                             "recbole_darec.model.alpharec"]


def test_interpreter_start_stays_light():
    completed = _find_in_fresh_process("import sys; print('torch' in sys.modules, 'recbole_darec' in sys.modules)")
    assert completed.stdout.split() == ["False", "False"]


def _model_module_in_child(queue):
    from recbole.utils import get_model

    queue.put(get_model("DaRecLightGCN").__module__)


def test_spawned_children_find_our_models():
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_model_module_in_child, args=(queue,))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == "recbole_darec.model.dareclightgcn"


def test_without_recbole_the_import_says_how_to_install_it():
    completed = _find_in_fresh_process("import sys\nsys.modules['recbole'] = None\nimport recbole_darec")
    assert completed.returncode != 0
    assert "pip install --no-deps recbole==1.2.1" in completed.stderr
