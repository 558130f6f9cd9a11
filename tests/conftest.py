import os
import warnings

import numpy as np
import pytest

import recbole_darec  # noqa: F401  (registers our models before any test touches RecBole)
from recbole_darec.data.llm_vectors import write_npz_vectors

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")


def write_tiny_dataset(root, name="tiny", n_users=40, n_items=50, per_user=12, dim=16, seed=0,
                       write_vectors=True):
    r"""A RecBole atomic dataset with random interactions and random 'LLM' vectors.

    Returns (folder, user_tokens, item_tokens, user_vectors, item_vectors)."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    users = [f"u{u}" for u in range(n_users)]
    items = [f"i{i}" for i in range(n_items)]
    lines = ["user_id:token\titem_id:token\ttimestamp:float"]
    for u in users:
        for t, i in enumerate(rng.choice(n_items, size=per_user, replace=False)):
            lines.append(f"{u}\t{items[i]}\t{t}")
    with open(os.path.join(folder, f"{name}.inter"), "w") as f:
        f.write("\n".join(lines) + "\n")
    user_vectors = rng.normal(size=(n_users, dim)).astype(np.float32)
    item_vectors = rng.normal(size=(n_items, dim)).astype(np.float32)
    if write_vectors:
        write_npz_vectors(os.path.join(folder, f"{name}.user_llm.npz"), users, user_vectors)
        write_npz_vectors(os.path.join(folder, f"{name}.item_llm.npz"), items, item_vectors)
    return folder, users, items, user_vectors, item_vectors


def tiny_config(root, **overrides):
    config = {
        "data_path": str(root),
        "checkpoint_dir": os.path.join(str(root), "saved"),
        "epochs": 1,
        "train_batch_size": 128,
        "eval_batch_size": 4096,
        "eval_step": 1,
        "show_progress": False,
        "embedding_size": 8,
        "darec_sample_size": 64,
        "darec_uniformity_rows": 32,
        "darec_n_clusters": 4,
        "darec_hidden_dim": 16,
        "topk": [5],
        "metrics": ["Recall", "NDCG"],
        "valid_metric": "NDCG@5",
        "state": "ERROR",
        "seed": 7,
    }
    config.update(overrides)
    return config


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    # RecBole writes log/ and log_tensorboard/ into the working directory.
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    return tmp_path


@pytest.fixture(autouse=True)
def _no_recbole_argv(monkeypatch):
    # RecBole's Config parses sys.argv; pytest's own arguments must not leak into it.
    monkeypatch.setattr("sys.argv", ["pytest"])
