"""run_scripts/plot_representations.py and plot_training.py: the pictures the docs embed."""

import glob
import importlib.util
import os

import pytest
from recbole.quick_start import run_recbole

from conftest import tiny_config

REPO = os.path.join(os.path.dirname(__file__), "..")


def _script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "run_scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_darec_checkpoint_is_drawn_by_side_and_part_and_its_curves_by_term(tiny):
    run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(tiny, epochs=3))
    (checkpoint,) = glob.glob(os.path.join(str(tiny), "saved", "DaRecLightGCN-*.pth"))
    plots = _script("plot_representations")
    from recbole_darec.recommend import load_checkpoint

    model = load_checkpoint(checkpoint)[1]
    drawn, kinds = plots.parts(model, rows=30, seed=1)
    assert sorted(drawn) == ["cf_shared", "cf_specific", "llm_shared", "llm_specific"]
    assert all(value.shape == (30, model.cf_dim) for value in drawn.values())
    assert set(kinds) == {"user", "item"}
    output = os.path.join(str(tiny), "img", "parts.png")
    plots.main(["--model-file", checkpoint, "--rows", "30", "--method", "pca", "--output", output])
    assert _is_png(output) and os.listdir(os.path.dirname(output)) == ["parts.png"]  # no temp file left

    curves = _script("plot_training")
    (run,) = glob.glob(os.path.join(str(tiny), "log_tensorboard", "*", ""))  # RecBole names it after the log file
    read = curves.read_curves(run)
    assert list(read) == ["bpr_reg", "orthogonal", "uniformity", "global", "local", "validation score"]
    assert read["bpr_reg"][0] == [0, 1, 2]  # one point per epoch
    output = os.path.join(str(tiny), "img", "training.png")
    curves.main(["--run", run, "--output", output])
    assert _is_png(output)


def test_a_model_without_parts_is_refused(tiny):
    run_recbole(model="LightGCN", dataset="tiny", config_dict=tiny_config(tiny, epochs=1))
    (checkpoint,) = glob.glob(os.path.join(str(tiny), "saved", "LightGCN-*.pth"))
    with pytest.raises(SystemExit, match="a LightGCN checkpoint; this draws a DaRec model's parts"):
        _script("plot_representations").main(["--model-file", checkpoint, "--output", "x.png"])
    with pytest.raises(SystemExit, match="no such folder"):
        _script("plot_training").main(["--run", "nowhere"])
