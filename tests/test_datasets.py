"""RLMRec importer and the dataset-name guard."""

import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from recbole.quick_start import run_recbole

from conftest import SHARED, tiny_config
from recbole_darec.data.llm_vectors import read_npz_vectors
from recbole_darec.datasets import DatasetImportError, import_rlmrec
from recbole_darec.datasets.__main__ import main as datasets_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RLMREC_YAML = os.path.join(REPO, "properties", "rlmrec.yaml")


def _dump(path, value):
    with open(path, "wb") as f:
        pickle.dump(value, f)


def write_rlmrec(folder, n_users=30, n_items=40, per_user=9, dim=12, seed=0, vectors=True, profiles=True):
    r"""Files in RLMRec's format: each user's items split 5:2:2 into trn/val/tst matrices."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    parts = {"trn": [], "val": [], "tst": []}
    for user in range(n_users):
        items = rng.choice(n_items, size=per_user, replace=False)
        for part, chunk in zip(parts, (items[:5], items[5:7], items[7:])):
            parts[part] += [(user, int(item)) for item in chunk]
    for part, pairs in parts.items():
        rows, cols = zip(*pairs)
        matrix = sp.coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n_users, n_items))
        _dump(os.path.join(folder, f"{part}_mat.pkl"), matrix)
    arrays = {}
    if vectors:
        arrays["user"] = rng.normal(size=(n_users, dim))
        arrays["item"] = rng.normal(size=(n_items, dim))
        _dump(os.path.join(folder, "usr_emb_np.pkl"), arrays["user"])
        _dump(os.path.join(folder, "itm_emb_np.pkl"), arrays["item"])
    if profiles:
        _dump(os.path.join(folder, "usr_prf.pkl"),
              {u: {"profile": f"User {u} likes\tthings\nand more", "reasoning": "r"} for u in range(n_users)})
        _dump(os.path.join(folder, "itm_prf.pkl"),
              {i: {"profile": f"Item {i}", "reasoning": "r"} for i in range(n_items)})
    return parts, arrays


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def test_import_writes_benchmark_files_vectors_and_profiles(tmp_path):
    parts, arrays = write_rlmrec(str(tmp_path / "src"))
    target = import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "dataset"))
    assert target == str(tmp_path / "dataset" / "toy")
    for split, part in (("train", "trn"), ("valid", "val"), ("test", "tst")):
        lines = _lines(os.path.join(target, f"toy.{split}.inter"))
        assert lines[0] == "user_id:token\titem_id:token"
        assert sorted(tuple(map(int, line.split("\t"))) for line in lines[1:]) == sorted(parts[part])
    for kind in ("user", "item"):
        tokens, vectors = read_npz_vectors(os.path.join(target, f"toy.{kind}_llm.npz"))
        assert list(tokens) == [str(i) for i in range(len(arrays[kind]))]
        np.testing.assert_allclose(vectors, arrays[kind].astype(np.float32))
    user_lines = _lines(os.path.join(target, "toy.user"))
    assert user_lines[0] == "user_id:token\tprofile:token_seq"
    assert user_lines[1] == "0\tUser 0 likes things and more"  # tabs and newlines flattened
    assert _lines(os.path.join(target, "toy.item"))[3] == "2\tItem 2"
    assert sorted(os.listdir(tmp_path / "dataset")) == ["toy"]  # no staging folder left


def test_imported_data_trains_darec_through_run_recbole_on_rlmrecs_split(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_rlmrec(str(tmp_path / "src"))
    import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "dataset"))
    # llm_require_split_record: the import records RLMRec's training split, and RecBole builds the same one
    config = tiny_config(tmp_path / "dataset", topk=[5], valid_metric="Recall@5", darec_n_clusters=4,
                         llm_require_split_record=True)
    result = run_recbole(model="DaRecLightGCN", dataset="toy", config_file_list=[RLMREC_YAML],
                         config_dict={**config, "epochs": 1})
    assert np.isfinite(result["test_result"]["recall@5"])


def test_vectors_only_and_no_extras_are_both_fine(tmp_path):
    write_rlmrec(str(tmp_path / "src"), profiles=False)
    target = import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "out"))
    assert sorted(os.listdir(target)) == sorted([
        "toy.train.inter", "toy.valid.inter", "toy.test.inter", "toy.user_llm.npz",
        "toy.user_llm.npz.json", "toy.item_llm.npz", "toy.item_llm.npz.json"])


def _expect_refusal(tmp_path, match):
    with pytest.raises(DatasetImportError, match=match):
        import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / "toy")
    assert not os.path.exists(tmp_path / "out") or os.listdir(tmp_path / "out") == []


def test_splits_of_different_shapes_are_refused(tmp_path):
    write_rlmrec(str(tmp_path / "src"))
    _dump(str(tmp_path / "src" / "val_mat.pkl"), sp.coo_matrix(([1.0], ([0], [40])), shape=(30, 41)))
    _expect_refusal(tmp_path, r"disagree on users x items: .*trn_mat.pkl \(30, 40\).*val_mat.pkl \(30, 41\)")


def test_overlapping_splits_are_refused(tmp_path):
    parts, _ = write_rlmrec(str(tmp_path / "src"))
    user, item = parts["trn"][0]
    pairs = parts["tst"] + [(user, item)]
    rows, cols = zip(*pairs)
    _dump(str(tmp_path / "src" / "tst_mat.pkl"), sp.coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(30, 40)))
    _expect_refusal(tmp_path, rf"trn_mat.pkl and .*tst_mat.pkl share 1 \(user, item\) pairs, e.g. \({user}, {item}\)")


def test_vectors_with_the_wrong_number_of_rows_are_refused(tmp_path):
    write_rlmrec(str(tmp_path / "src"))
    _dump(str(tmp_path / "src" / "itm_emb_np.pkl"), np.zeros((39, 12)))
    _expect_refusal(tmp_path, r"itm_emb_np.pkl: 39 rows, but the splits have 40 items")


def test_vectors_with_nan_are_refused(tmp_path):
    write_rlmrec(str(tmp_path / "src"))
    bad = np.ones((30, 12))
    bad[3, 4] = np.nan
    _dump(str(tmp_path / "src" / "usr_emb_np.pkl"), bad)
    _expect_refusal(tmp_path, r"usr_emb_np.pkl: 1 vector\(s\) contain NaN or inf, first at token '3'")


def test_profile_ids_out_of_range_are_refused(tmp_path):
    write_rlmrec(str(tmp_path / "src"))
    _dump(str(tmp_path / "src" / "itm_prf.pkl"), {40: {"profile": "x"}})
    _expect_refusal(tmp_path, r"itm_prf.pkl: item id 40 is out of range 0..39")


def test_a_pickle_that_is_not_a_sparse_matrix_is_refused(tmp_path):
    write_rlmrec(str(tmp_path / "src"))
    _dump(str(tmp_path / "src" / "trn_mat.pkl"), [[1, 0], [0, 1]])
    _expect_refusal(tmp_path, r"trn_mat.pkl: expected a pickled scipy.sparse users x items matrix, got list")


def test_a_missing_training_split_points_steam_users_to_the_builder(tmp_path):
    write_rlmrec(str(tmp_path / "src"))
    os.remove(tmp_path / "src" / "trn_mat.pkl")
    _expect_refusal(tmp_path, r"missing trn_mat.pkl .*steam")


def test_an_existing_folder_is_kept_unless_forced(tmp_path):
    write_rlmrec(str(tmp_path / "src"))
    import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "out"))
    with pytest.raises(DatasetImportError, match="exists; pass --force"):
        import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "out"))
    for extra in ("usr_emb_np.pkl", "itm_emb_np.pkl", "usr_prf.pkl", "itm_prf.pkl"):
        os.remove(tmp_path / "src" / extra)
    target = import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "out"), force=True)
    assert "toy.user_llm.npz" not in os.listdir(target)


def test_command_line_reports_errors_without_a_traceback(tmp_path, capsys):
    assert datasets_main(["rlmrec", "--src", str(tmp_path / "nowhere"), "--name", "toy"]) == 2
    assert "no such folder" in capsys.readouterr().err
    write_rlmrec(str(tmp_path / "src"))
    assert datasets_main(["rlmrec", "--src", str(tmp_path / "src"), "--name", "toy",
                          "--out", str(tmp_path / "out")]) == 0
    assert os.path.isfile(tmp_path / "out" / "toy" / "toy.train.inter")


# The guard against RecBole's own datasets of the same name

def test_a_missing_yelp_stops_with_the_import_command_instead_of_downloading(tmp_path, monkeypatch):
    from recbole.data.dataset import Dataset

    monkeypatch.chdir(tmp_path)

    def no_download(self):
        raise AssertionError("RecBole tried to download its own dataset")

    monkeypatch.setattr(Dataset, "_download", no_download)
    for model in ("LightGCN", "DaRecLightGCN"):
        with pytest.raises(FileNotFoundError, match=r"recbole_darec.datasets rlmrec --src .* --name yelp"):
            run_recbole(model=model, dataset="yelp", config_dict=tiny_config(tmp_path / "dataset"))


def test_split_files_read_without_benchmark_filename_get_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_rlmrec(str(tmp_path / "src"))
    import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "dataset"))
    with pytest.raises(ValueError, match=r"set the config key benchmark_filename"):
        run_recbole(model="LightGCN", dataset="toy", config_dict=tiny_config(tmp_path / "dataset"))


# Real data (../shared/data; absent on a user's clone)

RLMREC_SHARED = os.path.join(SHARED, "data", "rlmrec")


@pytest.mark.skipif(not os.path.isdir(os.path.join(RLMREC_SHARED, "yelp")),
                    reason="RLMRec's yelp split is not in ../shared/data/rlmrec")
def test_rlmrecs_real_yelp_split_imports_with_the_published_counts(tmp_path):
    target = import_rlmrec(os.path.join(RLMREC_SHARED, "yelp"), "yelp", out=str(tmp_path))
    counts = [len(_lines(os.path.join(target, f"yelp.{split}.inter"))) - 1 for split in ("train", "valid", "test")]
    assert counts == [166620, 55479, 55436]


# RLMRec's test-time mask

def _loaders(root, test_history):
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation

    # None (unset) means RecBole's own rule.
    config = Config(model="LightGCN", dataset="toy", config_file_list=[RLMREC_YAML],
                    config_dict={**tiny_config(root), "test_history": test_history})
    dataset = create_dataset(config)
    return dataset, data_preparation(config, dataset)


@pytest.mark.parametrize("test_history", [None, "train_valid", "train"])
def test_test_history_masks_training_items_and_validation_items_only_if_asked(tmp_path, monkeypatch, test_history):
    monkeypatch.chdir(tmp_path)
    parts, _ = write_rlmrec(str(tmp_path / "src"))
    import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "dataset"))
    dataset, (_, valid, test) = _loaders(tmp_path / "dataset", test_history)
    masked_at_test = {"train": ("trn",), "train_valid": ("trn", "val"), None: ("trn", "val")}[test_history]
    for user in (0, 7):
        uid = dataset.token2id(dataset.uid_field, str(user))

        def items(*names):
            return {int(dataset.token2id(dataset.iid_field, str(i)))
                    for name in names for u, i in parts[name] if u == user}

        assert set(test.uid2history_item[uid].tolist()) == items(*masked_at_test)
        assert set(test.uid2positive_item[uid].tolist()) == items("tst")
        assert set(valid.uid2history_item[uid].tolist()) == items("trn")


def test_a_bad_test_history_names_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_rlmrec(str(tmp_path / "src"))
    import_rlmrec(str(tmp_path / "src"), "toy", out=str(tmp_path / "dataset"))
    with pytest.raises(ValueError, match="test_history must be one of"):
        _loaders(tmp_path / "dataset", "valid")


# Steam builder

def write_steam(folder, n_users=20, n_items=15, seed=0):
    import gzip
    import json

    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    pairs = sorted({(u, int(i)) for u in range(n_users) for i in rng.choice(n_items, size=2 + u % 9, replace=False)})
    half = len(pairs) // 2
    for part, chunk in (("val", pairs[:half]), ("tst", pairs[half:])):
        rows, cols = zip(*chunk)
        _dump(os.path.join(folder, f"{part}_mat.pkl"),
              sp.coo_matrix((np.ones(len(chunk)), (rows, cols)), shape=(n_users, n_items)))
    with open(os.path.join(folder, "item_mapper.json"), "w") as f:
        f.write("\n".join(json.dumps({"iid": i, "product_id": str(1000 + i)}) for i in range(n_items)) + "\n")
    games = os.path.join(folder, "steam_games.json.gz")
    with gzip.open(games, "wt") as f:
        f.write('{"id": NaN, "title": NaN, "app_name": NaN}\n')  # the real file's empty records
        for i in range(n_items - 1):  # the last item has no metadata
            record = {"id": str(1000 + i), "app_name": f"Game {i}", "title": f"Game {i}" if i else None,
                      "publisher": "Pub\tlisher", "developer": "Dev", "genres": ["Action", "Free to Play"],
                      "tags": ["Indie"], "specs": ["Single-player"]}
            f.write(json.dumps(record) + "\n")
    return pairs, games


def _pairs(path):
    return {tuple(map(int, line.split("\t"))) for line in _lines(path)[1:]}


def test_steam_is_the_union_resplit_3_1_1_per_user_with_a_fixed_seed(tmp_path):
    from recbole_darec.datasets import build_steam

    pairs, games = write_steam(str(tmp_path / "src"))
    target, summary = build_steam(str(tmp_path / "src"), games, out=str(tmp_path / "a"))
    splits = {s: _pairs(os.path.join(target, f"steam.{s}.inter")) for s in ("train", "valid", "test")}
    assert splits["train"] | splits["valid"] | splits["test"] == set(pairs)
    assert sum(map(len, splits.values())) == len(pairs) == summary["pairs"]
    for user in range(20):
        n = sum(1 for u, _ in pairs if u == user)
        held = int(n / 5 + 0.5)
        counts = [sum(1 for u, _ in splits[s] if u == user) for s in ("train", "valid", "test")]
        assert counts == [n - 2 * held, held, held], (user, n)
    again, _ = build_steam(str(tmp_path / "src"), games, out=str(tmp_path / "b"))
    assert _pairs(os.path.join(again, "steam.test.inter")) == splits["test"]
    other, _ = build_steam(str(tmp_path / "src"), games, out=str(tmp_path / "c"), seed=7)
    assert _pairs(os.path.join(other, "steam.test.inter")) != splits["test"]


def test_steam_item_text_comes_from_the_metadata_through_the_mapper(tmp_path):
    from recbole_darec.datasets import build_steam

    _, games = write_steam(str(tmp_path / "src"))
    target, summary = build_steam(str(tmp_path / "src"), games, out=str(tmp_path / "out"))
    lines = _lines(os.path.join(target, "steam.item"))
    assert lines[0] == ("item_id:token\ttitle:token_seq\tpublisher:token_seq\tdeveloper:token_seq\t"
                        "genres:token_seq\ttags:token_seq\tspecs:token_seq")
    assert lines[1] == "0\tGame 0\tPub lisher\tDev\tAction, Free to Play\tIndie\tSingle-player"  # app_name as title
    assert lines[3].startswith("2\tGame 2\t")
    assert lines[15] == "14" + "\t" * 6  # no metadata: empty fields
    assert summary["items_without_text"] == 1


def test_steam_builder_refuses_a_bad_mapper_line_and_missing_files(tmp_path):
    from recbole_darec.datasets import build_steam

    _, games = write_steam(str(tmp_path / "src"))
    with pytest.raises(DatasetImportError, match=r"nowhere.json.gz: no such file"):
        build_steam(str(tmp_path / "src"), str(tmp_path / "nowhere.json.gz"), out=str(tmp_path / "out"))
    with open(tmp_path / "src" / "item_mapper.json", "a") as f:
        f.write('{"iid": "x"}\n')
    with pytest.raises(DatasetImportError, match=r"item_mapper.json:16: expected"):
        build_steam(str(tmp_path / "src"), games, out=str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / "steam")


STEAM_SHARED = os.path.join(SHARED, "data", "steam", "steam_games.json.gz")


@pytest.mark.skipif(not os.path.isfile(STEAM_SHARED), reason="Steam metadata is not in ../shared/data/steam")
def test_real_steam_builds_from_all_209732_pairs_with_text_for_every_item(tmp_path):
    from recbole_darec.datasets import build_steam

    _, summary = build_steam(os.path.join(RLMREC_SHARED, "steam"), STEAM_SHARED, out=str(tmp_path))
    assert (summary["pairs"], summary["items"], summary["items_without_text"]) == (209732, 5237, 0)
    assert (summary["train"], summary["valid"], summary["test"]) == (125468, 42132, 42132)  # seed 2024


def test_built_steam_embeds_with_training_items_only_in_user_texts(tmp_path, monkeypatch):
    import yaml

    from recbole_darec.datasets import build_steam
    from recbole_darec.embed import run_embed

    monkeypatch.chdir(tmp_path)
    _, games = write_steam(str(tmp_path / "src"))
    target, _ = build_steam(str(tmp_path / "src"), games, out=str(tmp_path / "dataset"))
    config = tmp_path / "paths.yaml"
    config.write_text(yaml.safe_dump({"data_path": str(tmp_path / "dataset")}))
    encoder = _tiny_encoder(tmp_path / "bert")
    result = run_embed(["--dataset", "steam", "--config_files", f"{RLMREC_YAML} {config}",
                        "--encoder", encoder, "--device", "cpu", "--batch-size", "8"])
    texts = result["texts"]
    train = _pairs(os.path.join(target, "steam.train.inter"))
    held_out = _pairs(os.path.join(target, "steam.valid.inter")) | _pairs(os.path.join(target, "steam.test.inter"))
    for user in range(20):
        words = texts.user_text(str(user))
        shown = {i for i in range(1, 14) if f"Game {i} " in words + " "}
        assert shown == {i for u, i in train if u == user and 1 <= i < 14}, user
        assert not shown & {i for u, i in held_out if u == user}
    assert texts.user_text("19").startswith("history: ")  # the format the check above reads
    for kind in ("user", "item"):
        assert os.path.isfile(os.path.join(target, f"steam.{kind}_llm.npz"))


def _tiny_encoder(folder):
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder.mkdir()
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "game", "history", ":", ";", "|", ","]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=512)).save_pretrained(str(folder))
    return str(folder)
