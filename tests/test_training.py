"""DaRecLightGCN through RecBole's own entry points."""

import ast
import glob
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from recbole.quick_start import load_data_and_model, objective_function, run_recbole

from conftest import tiny_config, write_tiny_dataset
from test_vectors import ATOMIC, write_atomic


def test_run_recbole_trains_and_tests_with_npz_vectors(tiny):
    result = run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(tiny))
    assert set(result["test_result"]) == {"recall@5", "ndcg@5"}
    assert glob.glob(os.path.join(tiny, "saved", "DaRecLightGCN-*.pth"))


def test_run_recbole_trains_with_recboles_atomic_vectors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path), write_vectors=False)
    write_atomic(tmp_path, users, uv, items, iv)
    result = run_recbole(model="DaRecLightGCN", dataset="tiny",
                         config_dict=tiny_config(tmp_path, **ATOMIC))
    assert "ndcg@5" in result["test_result"]


def test_same_seed_gives_identical_metrics_and_another_seed_differs(tiny):
    config = tiny_config(tiny, epochs=3)
    first = run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=config, saved=False)
    second = run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=config, saved=False)
    assert first["test_result"] == second["test_result"]
    assert first["best_valid_result"] == second["best_valid_result"]
    other = run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict={**config, "seed": 8}, saved=False)
    assert other["test_result"] != first["test_result"]


@pytest.mark.parametrize("name", ["DaRecLightGCN", "DaRecSGL", "DaRecSimGCL", "DaRecBPR", "DaRecNGCF"])
def test_load_data_and_model_reloads_the_trained_model(tiny, name):
    result = run_recbole(model=name, dataset="tiny", config_dict=tiny_config(tiny))
    (checkpoint,) = glob.glob(os.path.join(tiny, "saved", f"{name}-*.pth"))
    config, model, dataset, _, _, test_data = load_data_and_model(checkpoint)
    assert type(model).__name__ == name
    saved = torch.load(checkpoint, weights_only=False)["state_dict"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[name]), name
    assert model.llm_vectors.shape[0] == dataset.user_num + dataset.item_num
    scores = model.full_sort_predict(next(iter(test_data))[0])
    assert torch.isfinite(scores).all()
    # RecBole's evaluation of the reloaded model gives the test result of the run that saved it.
    from recbole.utils import get_trainer

    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    assert trainer.evaluate(test_data, load_best_model=False) == result["test_result"]


def _trained_checkpoint_read_in_a_fresh_process(tiny, script):
    r"""Train DaRecLightGCN on ``tiny``; run ``script`` on its checkpoint in a new interpreter."""
    result = run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(tiny))
    (checkpoint,) = glob.glob(os.path.join(tiny, "saved", "DaRecLightGCN-*.pth"))
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    completed = subprocess.run([sys.executable, "-c", script, checkpoint], capture_output=True, text=True,
                               cwd=tiny, timeout=300, env={**os.environ, "PYTHONPATH": repo})
    assert completed.returncode == 0, completed.stderr[-3000:]
    return result, completed.stdout


def test_load_data_and_model_evaluates_in_a_fresh_process(tiny):
    r"""A fresh process builds no ``Config``, so nothing has put back numpy's removed ``np.float``
    that RecBole's NDCG uses: reloading a checkpoint and evaluating it must still work."""
    result, stdout = _trained_checkpoint_read_in_a_fresh_process(tiny, (
        "import sys, recbole_darec\n"
        "from recbole.quick_start import load_data_and_model\n"
        "from recbole.utils import get_trainer\n"
        "config, model, _, _, _, test_data = load_data_and_model(sys.argv[1])\n"
        "trainer = get_trainer(config['MODEL_TYPE'], config['model'])(config, model)\n"
        "print('RESULT', {k: float(v) for k, v in trainer.evaluate(test_data, load_best_model=False).items()})\n"
    ))
    (line,) = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
    assert ast.literal_eval(line[len("RESULT "):]) == dict(result["test_result"])


def test_unpickled_config_restores_numpy_aliases_in_a_fresh_process(tiny):
    r"""Users who ``torch.load`` a checkpoint themselves unpickle RecBole's ``Config`` too."""
    _, stdout = _trained_checkpoint_read_in_a_fresh_process(tiny, (
        "import sys, numpy, torch, recbole_darec\n"
        "before = hasattr(numpy, 'float')\n"
        "config = torch.load(sys.argv[1], weights_only=False)['config']\n"
        "print('ALIASES', before, numpy.float is numpy.float64, config['model'])\n"
    ))
    assert "ALIASES False True DaRecLightGCN" in stdout


def test_objective_function_finds_our_model(tiny):
    result = objective_function(
        config_dict=tiny_config(tiny, model="DaRecLightGCN", dataset="tiny"), saved=False
    )
    assert result["model"] == "DaRecLightGCN"


def test_command_line_mirrors_run_recbole(tiny):
    config_file = tiny / "extra.yaml"
    config_file.write_text("darec_weight: 0.5\n")
    overrides = [f"--{k}={v}" for k, v in tiny_config(tiny, state="INFO").items()]
    completed = subprocess.run(
        [sys.executable, "-m", "recbole_darec", "--model", "DaRecLightGCN", "--dataset", "tiny",
         "--config_files", str(config_file), *overrides],
        capture_output=True, text=True, timeout=300,
        cwd=tiny, env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__))},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    log = completed.stdout + completed.stderr
    assert "darec_weight = 0.5" in log
    assert "test result" in log and "orthogonal:" in log and "local:" in log


class _RecordingWriter:
    def __init__(self):
        self.scalars = {}

    def add_scalar(self, tag, value, step):
        self.scalars[tag] = value


def test_trainer_names_every_term_in_the_log_and_tensorboard(tiny):
    from recbole.utils import get_trainer

    from helpers import build

    config, _, _, model = build(tiny)
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    losses = (2.0, 0.25, -1.0, 0.5, 0.75)
    line = re.sub(r"\x1b\[[0-9;]*m", "", trainer._generate_train_loss_output(3, 0.0, 1.0, losses))
    assert "train loss: 2.5000" in line
    for name, value in zip(model.loss_names, losses):
        assert f"{name}: {value:.4f}" in line
    trainer.tensorboard = _RecordingWriter()
    trainer._add_train_loss_to_tensorboard(3, losses)
    assert trainer.tensorboard.scalars == {
        "Loss/Train": 2.5, "Loss/Train/bpr_reg": 2.0, "Loss/Train/orthogonal": 0.25,
        "Loss/Train/uniformity": -1.0, "Loss/Train/global": 0.5, "Loss/Train/local": 0.75,
    }
