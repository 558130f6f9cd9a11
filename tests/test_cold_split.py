"""python -m recbole_darec.datasets cold: a seeded share of the items has no training interaction."""

import json
import os

import pytest

from conftest import write_tiny_dataset

from recbole_darec.datasets import DatasetImportError
from recbole_darec.datasets import __main__ as datasets_main
from recbole_darec.datasets import cold


def _read(path):
    with open(path, encoding="utf-8") as f:
        rows = f.read().splitlines()
    return rows[0], rows[1:]


def _split(tmp_path, seed=3, ratio=0.2, name="tiny-cold", **kwargs):
    target, summary = cold.build_cold("tiny", ratio, seed, name=name, data_path=str(tmp_path),
                                      out=str(tmp_path / "out"), **kwargs)
    parts = {part: _read(os.path.join(target, f"{name}.{part}.inter")) for part in cold.PARTS}
    with open(os.path.join(target, f"{name}.cold.json")) as f:
        record = json.load(f)
    return target, summary, parts, record


def test_cold_items_never_train_and_nothing_is_lost(tmp_path):
    write_tiny_dataset(str(tmp_path))
    header, source = _read(tmp_path / "tiny" / "tiny.inter")
    _, summary, parts, record = _split(tmp_path)
    cold_items = set(record["cold_items"])
    assert len(cold_items) == summary["cold_items"] == 10  # 20% of 50 items
    assert all(h == header for h, _ in parts.values())
    items_of = {part: {line.split("\t")[1] for line in lines} for part, (_, lines) in parts.items()}
    assert not items_of["train"] & cold_items
    assert cold_items <= items_of["valid"] | items_of["test"]
    merged = sorted(line for _, lines in parts.values() for line in lines)
    assert merged == sorted(source)  # every line once, unchanged
    # Warm interactions: each user's share of training is about 80%.
    warm_train = sum(1 for line in parts["train"][1])
    warm_all = sum(1 for line in source if line.split("\t")[1] not in cold_items)
    assert 0.75 < warm_train / warm_all < 0.85


def test_the_split_is_seeded(tmp_path):
    write_tiny_dataset(str(tmp_path))
    _, _, first, record = _split(tmp_path, seed=3, name="a")
    _, _, again, record_again = _split(tmp_path, seed=3, name="b")
    _, _, other, record_other = _split(tmp_path, seed=4, name="c")
    assert first == again and record["cold_items"] == record_again["cold_items"]
    assert first != other and record["cold_items"] != record_other["cold_items"]


def test_features_are_copied_and_the_source_is_recorded(tmp_path):
    write_tiny_dataset(str(tmp_path))
    features = "item_id:token\ttitle:token_seq\n" + "".join(f"i{i}\tfilm {i}\n" for i in range(50))
    (tmp_path / "tiny" / "tiny.item").write_text(features)
    target, _, _, record = _split(tmp_path)
    assert open(os.path.join(target, "tiny-cold.item")).read() == features  # every item, cold ones too
    assert set(record["source"]) == {"tiny.inter", "tiny.item"}
    assert len(record["source"]["tiny.inter"]["sha256"]) == 64 and record["seed"] == 3


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    write_tiny_dataset(str(tmp_path))
    with pytest.raises(DatasetImportError, match="--item-ratio must be between 0 and 1"):
        _split(tmp_path, ratio=1.0)
    with pytest.raises(DatasetImportError, match="no such dataset folder"):
        cold.build_cold("nope", 0.2, 1, data_path=str(tmp_path), out=str(tmp_path / "out"))
    inter = tmp_path / "tiny" / "tiny.inter"
    inter.write_text(inter.read_text() + "u1\ti3\t99\nu1\ti3\t100\n")
    with pytest.raises(DatasetImportError, match="a \\(user, item\\) pair occurs more than once"):
        _split(tmp_path)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_the_folder_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    write_tiny_dataset(str(tmp_path))
    original = cold.write_lines
    calls = []

    def fail_on_second(path, lines):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        original(path, lines)

    monkeypatch.setattr(cold, "write_lines", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        _split(tmp_path)
    assert os.listdir(tmp_path / "out") == []  # no half-written folder, no staging folder


def test_the_command_line(tmp_path, capsys):
    write_tiny_dataset(str(tmp_path))
    code = datasets_main.main(["cold", "--dataset", "tiny", "--data_path", str(tmp_path), "--item-ratio", "0.3",
                               "--seed", "5", "--out", str(tmp_path / "out")])
    assert code == 0 and "cold_items 15" in capsys.readouterr().out
    assert datasets_main.main(["cold", "--dataset", "tiny", "--data_path", str(tmp_path),
                               "--out", str(tmp_path / "out")]) == 2  # exists: --force needed
    assert "exists; pass --force" in capsys.readouterr().err


def test_warm_users_are_split_as_recbole_splits_them():
    from recbole.data.dataset import Dataset

    totals = list(range(1, 60))
    train, valid, test = cold.recbole_split_counts(totals)
    for n, a, b, c in zip(totals, train, valid, test):
        ends = Dataset._calcu_split_ids(None, n, list(cold.WARM_RATIOS))
        assert (a, b, c) == (ends[0], ends[1] - ends[0], n - ends[1]), n


def test_item_features_that_miss_an_item_are_refused(tmp_path):
    write_tiny_dataset(str(tmp_path))
    (tmp_path / "tiny" / "tiny.item").write_text("item_id:token\ttitle:token_seq\n" +
                                                 "".join(f"i{i}\tfilm {i}\n" for i in range(48)))
    with pytest.raises(DatasetImportError, match=r"tiny.item: no row for 2 item\(s\) of the interactions, e.g. \['i48', 'i49'\]"):
        _split(tmp_path)
