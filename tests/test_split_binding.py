r"""User vectors are bound to the training split they were embedded from (issue: test items leaked
into the ml-100k user vectors when one file served every seed).

Each mismatch test embeds user vectors for one split and trains on another: before the binding,
RecBole trained on them silently, so each of these tests failed on that code."""

import json
import logging
import re
import os

import numpy as np
import pytest
from conftest import tiny_config
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.quick_start import run_recbole
from recbole.utils import init_seed
from test_embed import NAME, embed_argv, root, tiny_encoder  # noqa: F401  (fixtures)

from recbole_darec.data.llm_vectors import LLMVectorError, write_npz_vectors
from recbole_darec.data.split_record import SplitMismatchError, train_pairs_sha256
from recbole_darec.embed import run_embed


def prepare(root, model="LightGCNCon", **overrides):
    r"""Config, dataset and split exactly as run_recbole builds them (the split is where the check runs)."""
    config = Config(model=model, dataset=NAME, config_dict=tiny_config(root, **overrides))
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    return data_preparation(config, dataset)


def write_benchmark_files(root, name, seed):
    r"""A fixed split of the tiny interactions into ``{name}.inter`` parts, drawn with ``seed``."""
    folder = os.path.join(str(root), NAME)
    with open(os.path.join(folder, f"{NAME}.inter")) as f:
        header, *lines = f.read().splitlines()
    part = np.random.default_rng(seed).choice(3, size=len(lines), p=[0.8, 0.1, 0.1])
    for index, suffix in enumerate(("train", "valid", "test")):
        rows = [line for line, p in zip(lines, part) if p == index]
        with open(os.path.join(folder, f"{NAME}.{name}{suffix}.inter"), "w") as f:
            f.write("\n".join([header, *rows]) + "\n")
    return [f"{name}{suffix}" for suffix in ("train", "valid", "test")]


def write_foreign_vectors(root, width, metadata=None):
    r"""Vectors for every tiny user and item made outside the embed command (no split record)."""
    rng = np.random.default_rng(0)
    folder = root / NAME
    for kind, tokens in (("user", [f"u{u}" for u in range(40)] + ["u_extra"]),
                         ("item", [f"i{i}" for i in range(50)] + ["i_extra"])):
        write_npz_vectors(str(folder / f"{NAME}.{kind}_llm.npz"), tokens, rng.normal(size=(len(tokens), width)),
                          metadata=metadata)
    return folder


def test_pairs_digest_ignores_order_and_sees_one_changed_pair():
    assert train_pairs_sha256(["u1", "u2"], ["i1", "i2"]) == train_pairs_sha256(["u2", "u1"], ["i2", "i1"])
    assert train_pairs_sha256(["u1", "u2"], ["i1", "i2"]) != train_pairs_sha256(["u1", "u2"], ["i1", "i3"])


def test_vectors_of_the_runs_own_split_train_without_a_warning(root, tiny_encoder, caplog):
    run_embed(embed_argv(root, tiny_encoder))
    with caplog.at_level(logging.WARNING):
        train, valid, test = prepare(root)
    assert len(train.dataset) > 0
    assert "record no training split" not in caplog.text


MISMATCHES = {
    "another seed": ({}, {"seed": 8}, r"file 7, run 8"),
    "another split ratio": ({}, {"eval_args": {"split": {"RS": [0.6, 0.2, 0.2]}, "order": "RO",
                                               "group_by": "user", "mode": "full"}}, r"eval_args: file .*0\.8"),
}


@pytest.mark.parametrize("embedded, trained, differing", list(MISMATCHES.values()), ids=list(MISMATCHES))
def test_vectors_of_another_split_stop_the_run_before_training(root, tiny_encoder, embedded, trained, differing):
    run_embed(embed_argv(root, tiny_encoder, **embedded))
    with pytest.raises(SplitMismatchError) as caught:
        prepare(root, **trained)
    message = str(caught.value)
    assert "tiny.user_llm.npz: these user vectors were embedded from another training split" in message
    assert f"the file's split: seed 7" in message
    assert f"this run's split: seed {trained.get('seed', 7)}" in message
    assert "python -m recbole_darec.embed --dataset tiny" in message
    assert f"--seed={trained.get('seed', 7)}" in message
    assert re.search(differing, message)


def test_vectors_of_another_benchmark_split_stop_the_run(root, tiny_encoder):
    first = write_benchmark_files(root, "a", seed=0)
    second = write_benchmark_files(root, "b", seed=1)
    run_embed(embed_argv(root, tiny_encoder, benchmark_filename=first))
    prepare(root, benchmark_filename=first)  # its own fixed split trains
    with pytest.raises(SplitMismatchError, match=r"benchmark_filename: file \[\"atrain\""):
        prepare(root, benchmark_filename=second)


def test_one_file_per_seed_with_the_seed_placeholder(root, tiny_encoder):
    template = str(root / "vec" / "tiny.seed{seed}.user_llm.npz")
    items = str(root / "vec" / "tiny.item_llm.npz")
    paths = {"llm_user_vector_file": template, "llm_item_vector_file": items}
    for seed in (7, 8):
        result = run_embed(embed_argv(root, tiny_encoder, f"--seed={seed}", **paths))
        assert result["user_path"] == template.replace("{seed}", str(seed))
        assert result["written"] == (["user", "item"] if seed == 7 else ["user"])  # items once
    for seed in (7, 8):
        prepare(root, seed=seed, **paths)  # each seed reads its own file and passes the check
    with pytest.raises(LLMVectorError, match=r"tiny\.seed9\.user_llm\.npz: no user vectors for seed 9.*--seed=9"):
        prepare(root, seed=9, **paths)


def test_vectors_without_a_split_record_warn_once_or_stop_when_required(root, caplog):
    write_foreign_vectors(root, width=8)
    with caplog.at_level(logging.WARNING):
        prepare(root)
    assert caplog.text.count("record no training split") == 1
    assert "llm_require_split_record: True" in caplog.text
    with pytest.raises(SplitMismatchError, match=r"(?s)record no training split.*llm_require_split_record: False"):
        prepare(root, llm_require_split_record=True)
    with pytest.raises(ValueError, match="llm_require_split_record must be True or False"):
        prepare(root, llm_require_split_record="yes")


def test_a_saved_model_does_not_reload_onto_vectors_of_another_split(root, tiny_encoder):
    from recbole.quick_start import load_data_and_model

    run_embed(embed_argv(root, tiny_encoder))
    run_recbole(model="LightGCNCon", dataset=NAME, config_dict=tiny_config(root))
    (checkpoint,) = [os.path.join(root, "saved", f) for f in os.listdir(root / "saved") if f.endswith(".pth")]
    run_embed(embed_argv(root, tiny_encoder, "--seed=8"))  # the file now holds seed 8's split
    with pytest.raises(SplitMismatchError, match=r"(?s)file.s split: seed 8.*this run.s split: seed 7"):
        load_data_and_model(checkpoint)


def test_sidecar_records_the_split_that_training_builds(root, tiny_encoder):
    result = run_embed(embed_argv(root, tiny_encoder))
    record = json.load(open(result["user_path"] + ".json"))["split"]
    train, _, _ = prepare(root)
    dataset = train.dataset
    feat = dataset.inter_feat
    tokens = (dataset.id2token("user_id", feat["user_id"].numpy()), dataset.id2token("item_id", feat["item_id"].numpy()))
    assert record["train_pairs_sha256"] == train_pairs_sha256(*tokens)


def test_saved_split_dataloaders_check_the_vectors_again_when_reloaded(root, tiny_encoder):
    # RecBole reloads saved dataloaders without splitting again: the split's record travels with them.
    run_embed(embed_argv(root, tiny_encoder))
    train, _, _ = prepare(root, save_dataloaders=True)
    assert train.dataset.llm_vectors.shape[1] == 16
    run_embed(embed_argv(root, tiny_encoder, "--seed=8"))  # the file now holds seed 8's split
    train, _, _ = prepare(root, save_dataloaders=True)  # seed 7's loaders, from the saved file
    with pytest.raises(SplitMismatchError, match=r"(?s)file.s split: seed 8.*this run.s split: seed 7"):
        train.dataset.llm_vectors


def test_user_and_item_vectors_of_different_encoder_settings_are_refused(root, tiny_encoder):
    template = str(root / "vec" / "tiny.seed{seed}.user_llm.npz")
    paths = {"llm_user_vector_file": template, "llm_item_vector_file": str(root / "vec" / "tiny.item_llm.npz")}
    run_embed(embed_argv(root, tiny_encoder, "--seed=7", **paths))
    # another seed with another token limit re-encodes the shared item file, not seed 7's users
    run_embed(embed_argv(root, tiny_encoder, "--seed=8", "--max-length", "16", **paths))
    prepare(root, seed=8, **paths)
    with pytest.raises(LLMVectorError, match=r"were encoded differently \(max_length: user 128, item 16\)"):
        prepare(root, seed=7, **paths)


def test_the_embed_command_never_encodes_over_vectors_it_did_not_make(root, tiny_encoder):
    from recbole_darec.embed import EmbedError

    folder = write_foreign_vectors(root, width=16, metadata={"source": "an API"})
    before = open(folder / f"{NAME}.user_llm.npz", "rb").read()
    with pytest.raises(EmbedError, match=r"tiny\.user_llm\.npz holds vectors that this command did not encode "
                                         r"\(source: an API\); pass --force"):
        run_embed(embed_argv(root, tiny_encoder))
    assert open(folder / f"{NAME}.user_llm.npz", "rb").read() == before
    assert run_embed(embed_argv(root, tiny_encoder, "--force"))["written"] == ["user", "item"]


def test_an_interrupted_rewrite_leaves_no_sidecar_that_describes_other_vectors(tmp_path, monkeypatch):
    from recbole_darec.data import llm_vectors

    path = str(tmp_path / "v.npz")
    write_npz_vectors(path, ["a", "b"], np.eye(2), metadata={"split": {"train_pairs_sha256": "old"}})

    def broken(target, write):
        raise OSError("disk full")

    monkeypatch.setattr(llm_vectors, "atomic_write", broken)
    with pytest.raises(OSError):
        write_npz_vectors(path, ["a", "b"], 2 * np.eye(2), metadata={"split": {"train_pairs_sha256": "new"}})
    assert os.path.exists(path) and not os.path.exists(path + ".json")



def test_an_npz_copied_over_another_is_refused_by_the_sidecar_it_sits_beside(root, tiny_encoder):
    import shutil

    template = str(root / "vec" / "tiny.seed{seed}.user_llm.npz")
    paths = {"llm_user_vector_file": template, "llm_item_vector_file": str(root / "vec" / "tiny.item_llm.npz")}
    for seed in (7, 8):
        run_embed(embed_argv(root, tiny_encoder, f"--seed={seed}", **paths))
    seed7, seed8 = template.format(seed=7), template.format(seed=8)
    shutil.copyfile(seed8, seed7)  # seed 7's sidecar stays, and still records seed 7's split
    with pytest.raises(LLMVectorError, match=r"tiny\.seed7\.user_llm\.npz: the file is not the one its sidecar"):
        prepare(root, seed=7, **paths)
    # the embed command sees the same and encodes seed 7's users again
    assert run_embed(embed_argv(root, tiny_encoder, "--seed=7", **paths))["written"] == ["user"]
    prepare(root, seed=7, **paths)


def test_the_split_checked_is_the_one_recorded_beside_the_vectors_in_memory(root, tiny_encoder):
    run_embed(embed_argv(root, tiny_encoder, "--seed=8"))
    config = Config(model="LightGCNCon", dataset=NAME, config_dict=tiny_config(root))  # seed 7
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)  # holds seed 8's user vectors from here on
    run_embed(embed_argv(root, tiny_encoder))  # the file is replaced by seed 7's before the split
    with pytest.raises(SplitMismatchError, match=r"(?s)file.s split: seed 8.*this run.s split: seed 7"):
        data_preparation(config, dataset)


def test_an_aligned_model_refuses_a_dataset_that_was_never_split(root, tiny_encoder):
    from recbole.utils import get_model

    run_embed(embed_argv(root, tiny_encoder))
    config = Config(model="LightGCNCon", dataset=NAME, config_dict=tiny_config(root))
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    with pytest.raises(ValueError, match=r"LightGCNCon needs a training split built by DaRecDataset\.build\(\)"):
        get_model("LightGCNCon")(config, dataset)
    init_seed(config["seed"], config["reproducibility"])  # the split draws from the seeded generator
    train, _, _ = data_preparation(config, dataset)
    get_model("LightGCNCon")(config, train.dataset)


def test_the_embed_command_rewrites_vectors_whose_sidecar_predates_the_npz_digest(root, tiny_encoder):
    # A sidecar without npz_sha256 binds no bytes: embedding again adds the binding.
    paths = {"llm_user_vector_file": str(root / "vec" / "tiny.user_llm.npz"),
             "llm_item_vector_file": str(root / "vec" / "tiny.item_llm.npz")}
    run_embed(embed_argv(root, tiny_encoder, **paths))
    sidecar = paths["llm_user_vector_file"] + ".json"
    with open(sidecar) as f:
        meta = json.load(f)
    del meta["npz_sha256"]
    with open(sidecar, "w") as f:
        json.dump(meta, f)
    assert run_embed(embed_argv(root, tiny_encoder, **paths))["written"] == ["user"]
    with open(sidecar) as f:
        assert "npz_sha256" in json.load(f)
