"""run_scripts/alignment_floor.py: the diagnostic's premise on a hand-made case, and a smoke run."""

import os
import subprocess
import sys

import pytest
import torch
import yaml
from recbole.config import Config

from conftest import tiny_config, write_tiny_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "run_scripts"))

import alignment_floor  # noqa: E402


def test_versions_keep_the_rows_but_not_their_owners():
    users, items = torch.randn(6, 4), torch.randn(9, 4)
    versions = alignment_floor.collaborative_versions(users, items, seed=0)
    trained_users, trained_items = versions["trained"]
    assert torch.equal(trained_users, users[1:]) and torch.equal(trained_items, items[1:])  # [PAD] rows dropped
    permuted_users, permuted_items = versions["permuted"]
    assert sorted(map(tuple, permuted_users.tolist())) == sorted(map(tuple, trained_users.tolist()))
    assert sorted(map(tuple, permuted_items.tolist())) == sorted(map(tuple, trained_items.tolist()))
    assert not torch.equal(permuted_items, trained_items)
    random_users, _ = versions["random"]
    assert random_users.shape == trained_users.shape and not torch.equal(random_users, trained_users)


def test_con_floor_prefers_collaborative_vectors_that_the_text_determines(tmp_path, monkeypatch):
    # E^C is a fixed linear image of E^L: the mapping MLP can learn it for the right owners only.
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    config = Config(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(tmp_path))
    torch.manual_seed(0)
    llm_users, llm_items = torch.randn(30, 16), torch.randn(40, 16)
    projection = torch.randn(16, 8)
    cf_users, cf_items = llm_users @ projection, llm_items @ projection
    permutation = torch.randperm(40)
    right = alignment_floor.floors(config, llm_users, llm_items, cf_users, cf_items, 300, 1e-2, seed=0)
    wrong = alignment_floor.floors(config, llm_users, llm_items, cf_users, cf_items[permutation], 300, 1e-2, seed=0)
    assert set(right) == {"darec", "darec_orthogonal", "darec_uniformity", "darec_global", "darec_local",
                          "darec_alignment", "con"}
    assert right["con"] < wrong["con"] - 0.5
    assert right["darec_alignment"] == pytest.approx(right["darec_global"] + right["darec_local"])


def test_script_writes_the_floor_table(tmp_path):
    write_tiny_dataset(str(tmp_path))
    config = os.path.join(str(tmp_path), "tiny.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(tiny_config(tmp_path), f)
    output = os.path.join(str(tmp_path), "floor")
    done = subprocess.run(
        [sys.executable, os.path.join(REPO, "run_scripts", "alignment_floor.py"), "--dataset", "tiny",
         "--config_files", config, "--seeds", "1", "--steps", "10", "--epochs", "1", "--output", output],
        capture_output=True, text=True, timeout=600, cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": REPO},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(output + ".md") as f:
        text = f.read()
    assert "| RLMRec-Con InfoNCE |" in text and "| DaRec global |" in text
    assert "--steps 10" in text  # the command that made it


def test_too_few_steps_are_refused():
    with pytest.raises(SystemExit):
        alignment_floor.parse_args(["--steps", "3"])
