"""python -m recbole_darec.recommend: top-K lists with the dataset's own ids, from a checkpoint."""

import csv
import glob
import os

import numpy as np
import pytest
import torch
from recbole.quick_start import load_data_and_model, run_recbole
from recbole.utils.case_study import full_sort_topk

from conftest import tiny_config, write_tiny_dataset
from test_embed import root, tiny_encoder  # noqa: F401  (fixtures)

from recbole_darec import recommend as rec


def _trained(tmp_path_factory, model, **overrides):
    root = tmp_path_factory.mktemp(f"recommend-{model}")
    here = os.getcwd()
    os.chdir(root)
    try:
        write_tiny_dataset(str(root))
        run_recbole(model=model, dataset="tiny", config_dict=tiny_config(root, epochs=2, **overrides))
        (checkpoint,) = glob.glob(os.path.join(str(root), "saved", f"{model}-*.pth"))
        yield root, checkpoint, load_data_and_model(checkpoint)
    finally:
        os.chdir(here)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    yield from _trained(tmp_path_factory, "LightGCN")


def _by_user(rows):
    lists = {}
    for user, rank, item, score in rows:
        lists.setdefault(user, []).append((rank, item, score))
    return lists


def test_the_top_k_is_recboles_full_sort_topk_with_the_ids_mapped_back(trained):
    _, _, loaded = trained
    _, model, _, train_data, _, test_data = loaded
    rows = rec.recommend(loaded=loaded, users=["u3", "u17", "u5"], topk=5)
    dataset = train_data.dataset
    ids = [dataset.field2token_id[dataset.uid_field][u] for u in ("u3", "u17", "u5")]
    scores, items = full_sort_topk(ids, model, test_data, k=5)
    expected = {f"u{u}": [(rank + 1, dataset.field2id_token[dataset.iid_field][i], s)
                         for rank, (i, s) in enumerate(zip(row_items.tolist(), row_scores.tolist()))]
                for u, row_items, row_scores in zip((3, 17, 5), items, scores)}
    got = _by_user(rows)
    assert list(got) == ["u3", "u17", "u5"]  # the order asked for
    for user, ranked in expected.items():
        assert [(r, i) for r, i, _ in got[user]] == [(r, i) for r, i, _ in ranked]
        assert [s for _, _, s in got[user]] == pytest.approx([s for _, _, s in ranked], rel=1e-5)


def _history(dataset):
    pairs = {}
    for u, i in zip(dataset.inter_feat[dataset.uid_field].tolist(), dataset.inter_feat[dataset.iid_field].tolist()):
        pairs.setdefault(dataset.field2id_token[dataset.uid_field][u], set()).add(
            dataset.field2id_token[dataset.iid_field][i])
    return pairs


def test_exclude_train_or_train_valid(trained):
    _, _, loaded = trained
    _, _, _, train_data, valid_data, _ = loaded
    train, valid = _history(train_data.dataset), _history(valid_data.dataset)
    k = 45  # of 50 items: the excluded history decides what is left
    only_train = _by_user(rec.recommend(loaded=loaded, topk=k, exclude="train"))
    both = _by_user(rec.recommend(loaded=loaded, topk=k, exclude="train_valid"))
    assert set(only_train) == set(train)  # every user with training items, by default
    valid_recommended = 0
    for user in train:
        items_train = {i for _, i, _ in only_train[user]}
        items_both = {i for _, i, _ in both[user]}
        assert not items_train & train[user]
        assert not items_both & (train[user] | valid.get(user, set()))
        valid_recommended += len(items_train & valid.get(user, set()))
        assert len(items_both) == min(k, 50 - len(train[user] | valid.get(user, set())))
    assert valid_recommended > 0  # exclude=train leaves validation items rankable


def test_unknown_users_are_refused_by_name(trained):
    _, _, loaded = trained
    with pytest.raises(rec.RecommendError, match=r"3 user token\(s\) not in dataset tiny: 'nobody', 'u999', '\[PAD\]'"):
        rec.recommend(loaded=loaded, users=["u1", "nobody", "u999", "[PAD]"])


def test_bad_arguments_are_refused(trained, tmp_path):
    _, _, loaded = trained
    with pytest.raises(rec.RecommendError, match="exclude must be one of"):
        rec.recommend(loaded=loaded, exclude="valid")
    with pytest.raises(rec.RecommendError, match="topk must be between 1 and 50"):
        rec.recommend(loaded=loaded, topk=0)
    with pytest.raises(rec.RecommendError, match="no such file"):
        rec.recommend(str(tmp_path / "missing.pth"))
    not_a_checkpoint = tmp_path / "x.pth"
    torch.save({"weights": 1}, not_a_checkpoint)
    with pytest.raises(rec.RecommendError, match="not a checkpoint saved by RecBole's trainer"):
        rec.recommend(str(not_a_checkpoint))


def test_the_command_writes_the_csv_whole_or_not_at_all(trained, tmp_path, monkeypatch):
    root, checkpoint, _ = trained
    monkeypatch.chdir(root)
    users = tmp_path / "users.txt"
    users.write_text("u1\nu2\n\nu1\n")
    output = tmp_path / "recs.csv"
    rec.main(["--model-file", checkpoint, "--users", str(users), "--topk", "3", "--output", str(output)])
    with open(output) as f:
        rows = list(csv.DictReader(f))
    assert [(r["user_id"], r["rank"]) for r in rows] == [("u1", "1"), ("u1", "2"), ("u1", "3"),
                                                         ("u2", "1"), ("u2", "2"), ("u2", "3")]
    assert all(r["item_id"].startswith("i") for r in rows)
    # A failure while writing leaves the earlier file as it was, and no temporary file.
    before = output.read_text()
    monkeypatch.setattr(rec, "_csv_field", lambda token: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        rec.main(["--model-file", checkpoint, "--users", str(users), "--output", str(output)])
    assert output.read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["recs.csv", "users.txt"]
    # Bad input stops with a message and writes nothing.
    users.write_text("u1\nghost\n")
    with pytest.raises(SystemExit) as stopped:
        rec.main(["--model-file", checkpoint, "--users", str(users), "--output", str(tmp_path / "new.csv")])
    assert stopped.value.code == 2 and not (tmp_path / "new.csv").exists()


def test_a_checkpoint_that_does_not_fit_the_dataset_now_is_refused(trained, tmp_path, monkeypatch):
    _, checkpoint, _ = trained
    monkeypatch.chdir(tmp_path)
    # The same dataset name and path, other items: the checkpoint's tables no longer fit.
    other = tmp_path / "data"
    write_tiny_dataset(str(other), n_items=70, seed=5)
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    saved["config"]["data_path"] = str(other / "tiny")
    moved = tmp_path / "moved.pth"
    torch.save(saved, moved)
    with pytest.raises(rec.RecommendError, match=r"moved.pth: its tables do not fit dataset tiny"):
        rec.recommend(str(moved))


@pytest.fixture(scope="module")
def trained_alpharec(tmp_path_factory):
    # No propagation: a user's row is then exactly the MLP of its input, which a new item can copy.
    yield from _trained(tmp_path_factory, "AlphaRec", n_layers=0)


def _new_items(path, tokens, vectors):
    # Written by hand, not by write_npz_vectors, which refuses the bad files these tests need.
    np.savez(str(path), tokens=np.asarray(tokens), vectors=np.asarray(vectors, dtype=np.float32))
    return str(path)


def test_a_new_item_whose_text_matches_a_user_takes_its_first_slot(trained_alpharec, tmp_path):
    _, _, loaded = trained_alpharec
    model, train = loaded[1], loaded[3].dataset
    user = train.field2token_id[train.uid_field]["u4"]
    with torch.no_grad():
        user_input = model.input_vectors()[0][user].numpy()
    rng = np.random.default_rng(0)
    path = _new_items(tmp_path / "new.npz", ["brand-new", "other-new"], [user_input, rng.normal(size=16)])
    rows = rec.recommend(loaded=loaded, users=["u4", "u9"], topk=5, new_items=path)
    lists = _by_user(rows)
    assert lists["u4"][0][:2] == (1, "brand-new") and lists["u4"][0][2] == pytest.approx(1.0, abs=1e-5)
    # The known items keep the scores full_sort_predict gives them.
    without = _by_user(rec.recommend(loaded=loaded, users=["u4"], topk=4))
    assert [i for _, i, _ in lists["u4"][1:]] == [i for _, i, _ in without["u4"]]


def test_new_items_need_a_model_with_a_text_path(trained, trained_alpharec, tmp_path):
    path = _new_items(tmp_path / "new.npz", ["n1"], [np.ones(16)])
    with pytest.raises(rec.RecommendError, match="LightGCN reads no language vectors: an ID model has no row"):
        rec.recommend(loaded=trained[2], new_items=path)


@pytest.mark.parametrize("model_name, overrides, expected", [
    ("DaRecLightGCN", {}, "DaRecLightGCN cannot score an item from its text: darec_score: base ranks"),
    ("LightGCNGen", {}, "LightGCNGen cannot score an item from its text: RLMRec-Gen maps"),
    ("DaRecLightGCN", {"darec_score": "fused"}, None),
    ("LightGCNCon", {}, None),
    ("DaRecBPR", {"darec_score": "fused"}, None),
])
def test_which_models_score_from_text(tiny, model_name, overrides, expected):
    from helpers import build

    _, _, _, model = build(tiny, model=model_name, **overrides)
    model.eval()
    problem = rec.text_path_problem(model)
    assert problem == expected if expected is None else problem.startswith(expected)
    if expected is None:
        vectors = torch.randn(3, model.llm_dim)
        with torch.no_grad():
            scores = model.scores_from_text(torch.tensor([1, 2]), vectors)
            moved = vectors.clone()
            moved[1] += 1.0
            after = model.scores_from_text(torch.tensor([1, 2]), moved)
        assert scores.shape == (2, 3)
        assert ((after - scores).abs() > 1e-6).tolist() == [[False, True, False]] * 2


def test_bad_new_item_files_are_refused(trained_alpharec, tmp_path):
    _, _, loaded = trained_alpharec
    cases = [
        (["n1"], np.ones((1, 8)), "vectors of width 8, but AlphaRec was trained on vectors of width 16"),
        (["n1", "n2"], [np.ones(16), np.full(16, np.nan)], "contain NaN or inf, first at token 'n2'"),
        (["n1", "n1"], np.ones((2, 16)), "token 'n1' has more than one vector"),
        (["n1", "i3"], np.ones((2, 16)), "1 token\\(s\\) are items the dataset already has, e.g. 'i3'"),
    ]
    for number, (tokens, vectors, message) in enumerate(cases):
        path = _new_items(tmp_path / f"bad{number}.npz", tokens, vectors)
        with pytest.raises(rec.RecommendError, match=message):
            rec.recommend(loaded=loaded, new_items=path)


def test_new_items_given_by_their_features_are_encoded_as_the_models_items_were(root, tiny_encoder):
    from test_embed import embed_argv

    from recbole_darec.embed import run_embed

    run_embed(embed_argv(root, tiny_encoder))  # tiny's vectors, 16-d, with their sidecars
    run_recbole(model="AlphaRec", dataset="tiny", config_dict=tiny_config(root, epochs=1, n_layers=0))
    (checkpoint,) = glob.glob(os.path.join(str(root), "saved", "AlphaRec-*.pth"))
    loaded = load_data_and_model(checkpoint)
    # A new item described exactly as known item i7 is: the same text, so the same vector and score.
    lines = open(os.path.join(str(root), "tiny", "tiny.item")).read().splitlines()
    i7 = next(line for line in lines if line.startswith("i7\t"))
    features = root / "new.item"
    features.write_text(lines[0] + "\n" + i7.replace("i7\t", "twin-of-i7\t", 1) + "\n")
    rows = rec.recommend(loaded=loaded, users=["u1", "u2"], topk=50, exclude="train",
                         new_item_features=str(features))
    for user, ranked in _by_user(rows).items():
        scores = {item: score for _, item, score in ranked}
        if "i7" in scores:
            assert scores["twin-of-i7"] == pytest.approx(scores["i7"], abs=1e-5)
    assert any("i7" in {i for _, i, _ in ranked} for ranked in _by_user(rows).values())
    # Vectors with no record of their encoder, beside a model whose vectors have one: refused.
    bare = _new_items(root / "bare.npz", ["n1"], np.ones((1, 16)))
    with pytest.raises(rec.RecommendError, match="no sidecar records its encoder"):
        rec.recommend(loaded=loaded, new_items=bare)
    features.write_text("item_id:token\tyear:token\ntwin\t1999\n")
    with pytest.raises(rec.RecommendError, match=r"no field\(s\) \['title', 'genre'\]"):
        rec.recommend(loaded=loaded, new_item_features=str(features))
