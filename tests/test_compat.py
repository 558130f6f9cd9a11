"""Each fix that makes RecBole 1.2.1 run on today's torch, scipy, numpy and pandas."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from helpers import build

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_scipy_dok_update_exists_and_lightgcn_adjacency_is_right(tiny):
    assert hasattr(sp.dok_matrix((2, 2)), "_update")
    _, _, (train, _, _), model = build(tiny)
    inter = train._dataset.inter_matrix(form="coo")
    n = model.n_users + model.n_items
    adjacency = np.zeros((n, n))
    adjacency[inter.row, inter.col + model.n_users] = 1
    adjacency[inter.col + model.n_users, inter.row] = 1
    degree = adjacency.sum(1) + 1e-7
    expected = adjacency / np.sqrt(degree)[:, None] / np.sqrt(degree)[None, :]
    np.testing.assert_allclose(model.norm_adj_matrix.to_dense().numpy(), expected, rtol=1e-5, atol=1e-7)


def _folder_made_by_another_process_first(monkeypatch):
    r"""os.makedirs that finds the folder just made by a process that started at the same time."""
    real_makedirs = os.makedirs

    def makedirs(path, *args, **kwargs):
        real_makedirs(path, exist_ok=True)
        return real_makedirs(path, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", makedirs)


def test_recbole_ensure_dir_survives_a_folder_made_between_its_check_and_its_create(tmp_path, monkeypatch):
    import importlib

    import recbole_darec.compat as compat

    _folder_made_by_another_process_first(monkeypatch)
    # RecBole's own ensure_dir loses this race: the trial that lost it failed before training.
    with pytest.raises(FileExistsError):
        compat._RECBOLE_ENSURE_DIR(str(tmp_path / "recbole"))
    for name in compat.RECBOLE_ENSURE_DIR_USERS:
        folder = tmp_path / name / "saved"
        importlib.import_module(name).ensure_dir(str(folder))
        assert folder.is_dir(), name


class _NotATensor:
    pass


def test_torch_load_keeps_its_safe_default_outside_recbole(tmp_path, tiny):
    from recbole.quick_start import run_recbole

    from conftest import tiny_config

    run_recbole(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(tiny))
    path = tmp_path / "object.pth"
    torch.save({"x": _NotATensor()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_no_recbole_warnings_and_missing_values_filled(tmp_path):
    r"""A dataset with missing token and float values and a float_seq field loads, its NaN are
    filled (RecBole's chained inplace fills, which pandas 3 would silently skip), and neither
    RecBole nor the ray it imports (pkg_resources' deprecation) prints warnings."""
    folder = tmp_path / "nan"
    folder.mkdir()
    (folder / "nan.inter").write_text(
        "user_id:token\titem_id:token\tscore:float\n"
        + "".join(f"u{u}\ti{(u + k) % 7}\t{'' if k == 0 else k}\n" for u in range(6) for k in range(4))
    )
    (folder / "nan.item").write_text(
        "item_id:token\tbrand:token\tprice:float\temb:float_seq\n"
        + "".join(f"i{i}\t{'' if i == 0 else 'b' + str(i)}\t{'' if i == 1 else i}\t{i} {i}\n" for i in range(7))
    )
    script = (
        "import recbole_darec, sys\n"
        "from recbole.config import Config\n"
        "from recbole.data import create_dataset\n"
        "from recbole.data.dataset import Dataset\n"
        f"c = Config(model='LightGCN', dataset='nan', config_dict={{'data_path': {str(tmp_path)!r}, "
        "'load_col': None, 'state': 'ERROR'})\n"
        "d = create_dataset(c)\n"
        "assert not d.item_feat['price'].isna().any() and not d.inter_feat['score'].isna().any()\n"
        "d.build()\n"
        "print('LOADED')\n"
    )
    completed = subprocess.run([sys.executable, "-W", "always", "-c", script], capture_output=True,
                               text=True, cwd=tmp_path, timeout=120, env={**os.environ, "PYTHONPATH": REPO})
    assert "LOADED" in completed.stdout, completed.stderr[-3000:]
    recbole_warnings = [l for l in completed.stderr.splitlines() if "site-packages/recbole/" in l]
    assert recbole_warnings == []
    assert "pkg_resources" not in completed.stderr, completed.stderr[-3000:]


def test_a_config_builds_without_the_numpy_names_that_numpy_2_removed(monkeypatch):
    # RecBole's Config.compatibility_settings reads np.float_, np.complex_ and np.unicode_, which
    # numpy 2 removed: every Config failed there. The aliases now come from names both have.
    from recbole.config import Config

    for name in ("float_", "complex_", "unicode_", "float", "complex", "unicode"):
        monkeypatch.delattr(np, name, raising=False)
    Config(model="LightGCN", dataset="ml-100k", config_dict={"state": "ERROR"})
    assert (np.float, np.complex, np.unicode, np.long) == (np.float64, np.complex128, np.str_, np.int_)


def test_missing_values_are_filled_when_pandas_copies_on_write(tmp_path):
    r"""pandas 3 copies on write (pandas 2 does with ``mode.copy_on_write``): RecBole's in-place
    fills of a column changed a copy, so a missing float stayed NaN and a missing token sequence
    failed on ``nan.split``. Filled as RecBole meant: the mean, [PAD], an empty sequence."""
    folder = tmp_path / "cow"
    folder.mkdir()
    (folder / "cow.inter").write_text(
        "user_id:token\titem_id:token\n" + "".join(f"u{u}\ti{(u + k) % 5}\n" for u in range(6) for k in range(3)))
    (folder / "cow.item").write_text(
        "item_id:token\tbrand:token\tprice:float\ttags:token_seq\n"
        "i0\tb0\t1.0\ta b\ni1\t\t3.0\tb\ni2\tb2\t\tc\ni3\tb3\t5.0\t\ni4\tb4\t7.0\ta\n")
    script = (
        "import pandas as pd\n"
        "pd.set_option('mode.copy_on_write', True)\n"
        "import recbole_darec\n"
        "from recbole.config import Config\n"
        "from recbole.data import create_dataset\n"
        f"c = Config(model='LightGCN', dataset='cow', config_dict={{'data_path': {str(tmp_path)!r}, "
        "'load_col': None, 'state': 'ERROR'})\n"
        "d = create_dataset(c)\n"
        "items = d.item_feat\n"
        "row = {d.id2token('item_id', i): i for i in range(1, d.item_num)}\n"
        "print('PRICE', float(items['price'][row['i2']]))\n"
        "print('BRAND', int(items['brand'][row['i1']]))\n"
        "print('TAGS', len(items['tags'][row['i3']]), len(items['tags'][row['i0']]))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                               timeout=120, env={**os.environ, "PYTHONPATH": REPO})
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in completed.stdout.splitlines() if line.split(" ")[0].isupper())
    assert float(lines["PRICE"]) == pytest.approx(4.0)  # the mean of 1, 3, 5, 7
    assert lines["BRAND"] == "0"  # [PAD]
    assert lines["TAGS"].split() == ["0", "2"]  # an empty sequence; 'a b' kept


def test_sequence_fields_remap_when_series_agg_len_is_the_series_length(tmp_path, monkeypatch):
    # pandas 3: Series.agg(func) calls func on the whole Series, so agg(len) is its length, not the
    # rows' lengths that RecBole's remapping of a token sequence field reads.
    import pandas
    from recbole.config import Config
    from recbole.data import create_dataset

    monkeypatch.setattr(pandas.Series, "agg", lambda self, func=None, *args, **kwargs: func(self))
    folder = tmp_path / "seq"
    folder.mkdir()
    (folder / "seq.inter").write_text(
        "user_id:token\titem_id:token\n" + "".join(f"u{u}\ti{(u + k) % 4}\n" for u in range(5) for k in range(3)))
    (folder / "seq.item").write_text("item_id:token\ttags:token_seq\ni0\ta b\ni1\tb\ni2\tc a b\ni3\td\n")
    config = Config(model="LightGCN", dataset="seq",
                    config_dict={"data_path": str(tmp_path), "load_col": None, "state": "ERROR"})
    dataset = create_dataset(config)
    lengths = {dataset.id2token("item_id", i): len(dataset.item_feat["tags"][i]) for i in range(1, dataset.item_num)}
    assert lengths == {"i0": 2, "i1": 1, "i2": 3, "i3": 1}


def test_every_recbole_method_that_reads_agg_len_as_row_lengths_is_covered():
    # A RecBole method missing here would silently get the Series' length under pandas 3.
    import ast
    import importlib

    from recbole_darec.compat import ROW_LENGTH_READERS

    covered = {(module, cls, name) for module, cls, names in ROW_LENGTH_READERS for name in names}
    found = set()
    for module in ("recbole.data.dataset.dataset", "recbole.data.dataset.kg_dataset",
                   "recbole.data.dataset.sequential_dataset"):
        tree = ast.parse(open(importlib.import_module(module).__file__, encoding="utf-8").read())
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            for method in (node for node in cls.body if isinstance(node, ast.FunctionDef)):
                if any(isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "agg" and n.args
                       and getattr(n.args[0], "id", None) == "len" for n in ast.walk(method)):
                    found.add((module, cls.name, method.name))
    assert found and found <= covered, found - covered


def test_recboles_objective_function_reports_a_dict_to_current_ray():
    # RecBole calls tune.report(**metrics), ray 2.6's form; current ray takes report(metrics).
    import recbole.quick_start.quick_start as quick_start

    from recbole_darec.compat import _RayTuneForRecBole

    received = []

    class CurrentTune:
        @staticmethod
        def report(metrics, *, checkpoint=None):
            received.append(metrics)

    _RayTuneForRecBole(CurrentTune()).report(**{"recall@10": 0.1, "ndcg@10": 0.2})
    assert received == [{"recall@10": 0.1, "ndcg@10": 0.2}]
    assert isinstance(quick_start.tune, _RayTuneForRecBole)
