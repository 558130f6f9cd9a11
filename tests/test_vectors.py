"""LLM vectors: both formats align to RecBole's ids; every bad input fails with the file named."""

import logging
import os

import numpy as np
import pytest
from recbole.config import Config
from recbole.data import create_dataset

from conftest import tiny_config, write_tiny_dataset
from recbole_darec.data.llm_vectors import LLMVectorError, read_npz_vectors, write_npz_vectors


def _dataset(root, **overrides):
    config = Config(model="DaRecLightGCN", dataset="tiny", config_dict=tiny_config(root, **overrides))
    return create_dataset(config)


def _inter_tokens(root, column):
    with open(os.path.join(root, "tiny", "tiny.inter")) as f:
        next(f)
        return sorted({line.split("\t")[column] for line in f})


def write_atomic(root, users, user_vectors, items, item_vectors):
    for kind, tokens, vectors in (("user", users, user_vectors), ("item", items, item_vectors)):
        lines = [f"{kind[0]}id:token\t{kind}_emb:float_seq"]
        lines += [f"{t}\t{' '.join(map(str, v))}" for t, v in zip(tokens, vectors)]
        with open(os.path.join(root, "tiny", f"tiny.{kind}emb"), "w") as f:
            f.write("\n".join(lines) + "\n")


ATOMIC = dict(
    llm_vector_format="atomic",
    additional_feat_suffix=["useremb", "itememb"],
    load_col={"inter": ["user_id", "item_id", "timestamp"], "useremb": ["uid", "user_emb"],
              "itememb": ["iid", "item_emb"]},
    alias_of_user_id=["uid"],
    alias_of_item_id=["iid"],
    preload_weight={"uid": "user_emb", "iid": "item_emb"},
)


def _assert_aligned(dataset, users, user_vectors, items, item_vectors):
    vectors = dataset.llm_vectors.numpy()
    assert vectors.shape == (dataset.user_num + dataset.item_num, user_vectors.shape[1])
    assert not vectors[0].any() and not vectors[dataset.user_num].any()  # [PAD] rows
    for token, expected in zip(users, user_vectors):
        np.testing.assert_allclose(vectors[dataset.token2id("user_id", token)], expected, rtol=1e-6)
    for token, expected in zip(items, item_vectors):
        row = dataset.user_num + dataset.token2id("item_id", token)
        np.testing.assert_allclose(vectors[row], expected, rtol=1e-6)


def test_npz_vectors_align_to_recbole_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path))
    _assert_aligned(_dataset(tmp_path), users, uv, items, iv)


def test_atomic_vectors_align_and_unknown_ids_do_not_become_phantom_items(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path), write_vectors=False)
    ghost = np.full((1, uv.shape[1]), 0.5, dtype=np.float32)
    write_atomic(tmp_path, users + ["ghost_user"], np.vstack([uv, ghost]),
                 items + ["ghost_item"], np.vstack([iv, ghost]))
    dataset = _dataset(tmp_path, **ATOMIC)
    assert dataset.item_num == len(_inter_tokens(tmp_path, 1)) + 1
    assert dataset.user_num == len(_inter_tokens(tmp_path, 0)) + 1
    assert "ghost_item" not in dataset.field2token_id["item_id"]
    assert "ghost_user" not in dataset.field2token_id["user_id"]
    _assert_aligned(dataset, users, uv, items, iv)


def test_atomic_without_preload_weight_says_which_keys_to_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    with pytest.raises(LLMVectorError, match="preload_weight"):
        _dataset(tmp_path, llm_vector_format="atomic")


def test_ragged_atomic_vectors_are_refused_with_the_file_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path), write_vectors=False)
    write_atomic(tmp_path, users, [list(v) for v in uv], items, [list(v) for v in iv])
    with open(os.path.join(tmp_path, "tiny", "tiny.itememb"), "a") as f:
        f.write("i_extra\t1.0 2.0\n")
    # i_extra is not in .inter, so it is dropped; make a known item ragged instead.
    path = os.path.join(tmp_path, "tiny", "tiny.itememb")
    lines = open(path).read().splitlines()
    lines[1] = lines[1].rsplit(" ", 1)[0]
    open(path, "w").write("\n".join(lines) + "\n")
    with pytest.raises(LLMVectorError, match=r"tiny\.itememb.*ragged"):
        _dataset(tmp_path, **ATOMIC)


def test_missing_file_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    os.remove(os.path.join(tmp_path, "tiny", "tiny.item_llm.npz"))
    with pytest.raises(LLMVectorError, match=r"no item LLM vector file: looked for .*tiny\.item_llm\.npz"):
        _dataset(tmp_path)
    with pytest.raises(LLMVectorError, match=r"elsewhere\.npz: LLM vector file not found"):
        _dataset(tmp_path, llm_item_vector_file=str(tmp_path / "elsewhere.npz"))


def _rewrite_items(root, transform):
    path = os.path.join(root, "tiny", "tiny.item_llm.npz")
    tokens, vectors = read_npz_vectors(path)
    tokens, vectors = transform(tokens, vectors)
    np.savez(path, tokens=tokens, vectors=vectors)  # bypasses the writer's own checks
    return path


def test_ids_without_vectors_are_an_error_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    _rewrite_items(tmp_path, lambda t, v: (t[3:], v[3:]))
    with pytest.raises(LLMVectorError, match=r"tiny\.item_llm\.npz: 3 id\(s\).*llm_missing: mean"):
        _dataset(tmp_path)


def test_ids_without_vectors_get_the_mean_with_a_counted_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    _, _, items, _, iv = write_tiny_dataset(str(tmp_path))
    _rewrite_items(tmp_path, lambda t, v: (t[3:], v[3:]))
    with caplog.at_level(logging.WARNING):
        dataset = _dataset(tmp_path, llm_missing="mean")
    assert "3 id(s) have no vector" in caplog.text
    row = dataset.user_num + dataset.token2id("item_id", items[0])
    np.testing.assert_allclose(dataset.llm_vectors[row].numpy(), iv[3:].mean(0), rtol=1e-5)


def test_extra_vectors_are_ignored_not_added(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    _rewrite_items(tmp_path, lambda t, v: (np.append(t, "ghost"), np.vstack([v, v[:1]])))
    dataset = _dataset(tmp_path)
    assert "ghost" not in dataset.field2token_id["item_id"]
    assert dataset.item_num == len(_inter_tokens(tmp_path, 1)) + 1


@pytest.mark.parametrize(
    "transform, message",
    [
        (lambda t, v: (t, np.where(np.arange(len(v))[:, None] == 2, np.nan, v)), "NaN or inf"),
        (lambda t, v: (t, np.where(np.arange(len(v))[:, None] == 2, np.inf, v)), "NaN or inf"),
        (lambda t, v: (t[:0], v[:0]), "empty"),
        (lambda t, v: (t, v[:-1]), "must match"),
        (lambda t, v: (np.append(t[:-1], t[0]), v), "more than one vector"),
        (lambda t, v: (t, v.astype(np.int64)), "must be floats"),
    ],
)
def test_bad_vector_files_are_refused_with_the_file_named(tmp_path, monkeypatch, transform, message):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    path = _rewrite_items(tmp_path, transform)
    with pytest.raises(LLMVectorError, match=message) as error:
        _dataset(tmp_path)
    assert path in str(error.value)


def test_npz_without_expected_arrays_is_refused(tmp_path):
    path = str(tmp_path / "x.npz")
    np.savez(path, rows=np.ones((2, 2)))
    with pytest.raises(LLMVectorError, match="expected arrays 'tokens' and 'vectors'"):
        read_npz_vectors(path)
    (tmp_path / "y.npz").write_text("not a zip")
    with pytest.raises(LLMVectorError, match="not a readable"):
        read_npz_vectors(str(tmp_path / "y.npz"))


def test_user_and_item_widths_must_agree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    _rewrite_items(tmp_path, lambda t, v: (t, v[:, :8]))
    with pytest.raises(LLMVectorError, match="width 16 but item vectors have width 8"):
        _dataset(tmp_path)


def test_writer_is_atomic_and_leaves_nothing_behind_on_failure(tmp_path):
    path = str(tmp_path / "v.npz")
    write_npz_vectors(path, ["a", "b"], np.eye(2), metadata={"encoder": "test"})
    assert sorted(os.listdir(tmp_path)) == ["v.npz", "v.npz.json"]
    with pytest.raises(LLMVectorError):
        write_npz_vectors(path, ["a", "b"], np.array([[np.nan, 0.0], [0.0, 1.0]]))
    assert sorted(os.listdir(tmp_path)) == ["v.npz", "v.npz.json"]
    tokens, vectors = read_npz_vectors(path)
    assert tokens.tolist() == ["a", "b"] and vectors.dtype == np.float32


@pytest.mark.parametrize("key, value", [("llm_vector_format", "csv"), ("llm_missing", "zero")])
def test_bad_vector_config_names_the_key(tmp_path, monkeypatch, key, value):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    with pytest.raises(ValueError, match=key):
        _dataset(tmp_path, **{key: value})


def test_split_copies_share_vectors_and_a_pickled_dataset_rereads_the_files(tmp_path, monkeypatch):
    import pickle

    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path))
    dataset = _dataset(tmp_path)
    assert dataset.copy(dataset.inter_feat).llm_vectors is dataset.llm_vectors
    restored_bytes = pickle.dumps(dataset)
    write_npz_vectors(os.path.join(tmp_path, "tiny", "tiny.item_llm.npz"), items, iv + 1)
    restored = pickle.loads(restored_bytes)
    row = restored.user_num + restored.token2id("item_id", items[0])
    np.testing.assert_allclose(restored.llm_vectors[row].numpy(), iv[0] + 1, rtol=1e-6)


def test_vectors_are_found_under_dataset_folder_of_the_working_directory(tmp_path, monkeypatch):
    # RecBole's bundled ml-100k lives in site-packages; embed writes to ./dataset/ml-100k/.
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path / "elsewhere"))
    write_tiny_dataset(str(tmp_path / "dataset"))
    for kind in ("user", "item"):
        os.remove(tmp_path / "elsewhere" / "tiny" / f"tiny.{kind}_llm.npz")
    dataset = _dataset(tmp_path / "elsewhere")
    assert dataset.llm_vectors.shape[1] == 16


def test_shuffle_control_permutes_users_among_users_and_items_among_items(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    real = _dataset(tmp_path).llm_vectors.numpy()
    shuffled = _dataset(tmp_path, llm_shuffle_seed=0).llm_vectors.numpy()
    again = _dataset(tmp_path, llm_shuffle_seed=0).llm_vectors.numpy()
    other_seed = _dataset(tmp_path, llm_shuffle_seed=1).llm_vectors.numpy()
    n_users = _dataset(tmp_path).user_num
    np.testing.assert_array_equal(shuffled, again)
    assert not np.array_equal(shuffled, other_seed)
    for part in (slice(1, n_users), slice(n_users + 1, None)):  # users, items; [PAD] rows stay zero
        real_rows = {row.tobytes() for row in real[part]}
        assert {row.tobytes() for row in shuffled[part]} == real_rows  # the same vectors ...
        moved = (shuffled[part] != real[part]).any(axis=1)
        assert moved.mean() > 0.5  # ... most of them on another id
    assert not shuffled[0].any() and not shuffled[n_users].any()


@pytest.mark.parametrize("value", [-1, 1.5, "zero", True])
def test_bad_shuffle_seed_names_the_key(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(str(tmp_path))
    with pytest.raises(ValueError, match="llm_shuffle_seed"):
        _dataset(tmp_path, llm_shuffle_seed=value)


RECBOLE_CONVENTION = {key: value for key, value in ATOMIC.items() if key != "llm_vector_format"}


def test_recboles_documented_convention_works_without_our_format_key(tmp_path, monkeypatch):
    # additional_feat_suffix + preload_weight, as RecBole documents them, and no npz files.
    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path), write_vectors=False)
    write_atomic(tmp_path, users, uv, items, iv)
    dataset = _dataset(tmp_path, **RECBOLE_CONVENTION)
    assert dataset.vector_format == "atomic"
    _assert_aligned(dataset, users, uv, items, iv)


def test_npz_files_win_over_preload_weight_when_both_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path))
    write_atomic(tmp_path, users, uv + 1, items, iv + 1)
    dataset = _dataset(tmp_path, **RECBOLE_CONVENTION)
    assert dataset.vector_format == "npz"
    _assert_aligned(dataset, users, uv, items, iv)


def test_insisting_on_npz_with_only_atomic_vectors_names_the_key_to_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, users, items, uv, iv = write_tiny_dataset(str(tmp_path), write_vectors=False)
    write_atomic(tmp_path, users, uv, items, iv)
    with pytest.raises(LLMVectorError, match=r"(?s)no user LLM vector file.*preload_weight is set.*llm_vector_format: atomic"):
        _dataset(tmp_path, **RECBOLE_CONVENTION, llm_vector_format="npz")


def test_vectors_digest_changes_with_the_values_and_not_with_a_rewrite(tmp_path, monkeypatch):
    from recbole_darec.experiments.vectors import vectors_digest

    monkeypatch.chdir(tmp_path)
    folder, users, items, user_vectors, _ = write_tiny_dataset(str(tmp_path))
    settings = tiny_config(tmp_path)
    user_file = os.path.join(folder, "tiny.user_llm.npz")
    digest = vectors_digest("DaRecLightGCN", "tiny", [], 7, settings)
    assert len(digest) == 12
    assert vectors_digest("LightGCN", "tiny", [], 7, settings) == ""

    # Embedding the same vectors again keeps a grid's finished runs (numpy stamps npz members
    # with a fixed time, so equal values give equal bytes).
    write_npz_vectors(user_file, users, user_vectors)
    assert vectors_digest("DaRecLightGCN", "tiny", [], 7, settings) == digest

    changed = user_vectors.copy()
    changed[3, 0] += 1e-3
    write_npz_vectors(user_file, users, changed)
    assert vectors_digest("DaRecLightGCN", "tiny", [], 7, settings) != digest
    os.remove(user_file)
    assert vectors_digest("DaRecLightGCN", "tiny", [], 7, settings) is None
