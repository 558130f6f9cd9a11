r"""Binding user vectors to the training split they were derived from.

A user's text lists items of the *training* split (``recbole_darec.embed``), so a user vector is
only clean for a run that trains on that same split: with RecBole's random per-user split another
seed holds out other items, about 80% of which the file's texts name (docs/embedding.md). The
user-vector file's sidecar therefore records the split (its ``split`` key, written by the embed
command), and
:class:`~recbole_darec.data.dataset.DaRecDataset` compares it with the split that the run builds
(:func:`check_user_vector_split`) before anything trains.
"""

import hashlib
import json
import os

from recbole_darec.config_checks import config_value
from recbole_darec.data.llm_vectors import LLMVectorError, read_sidecar

# The sidecar key under which a user-vector file records its split.
SPLIT_KEY = "split"
# Settings that name the run, not the split: never shown as a difference.
NOT_SPLIT_SETTINGS = ("model",)
# check_user_vector_split's default: read the record from the file now.
NOT_READ = object()


class SplitMismatchError(ValueError):
    """User vectors derived from another training split than the run's; the message says how to fix it."""


def train_pairs_sha256(user_tokens, item_tokens):
    r"""A digest of the training pairs, by original tokens and in no particular order: equal for
    two runs exactly when they train on the same (user, item) pairs."""
    pairs = sorted(zip((str(u) for u in user_tokens), (str(i) for i in item_tokens)))
    return hashlib.sha256("\n".join(f"{u}\t{i}" for u, i in pairs).encode()).hexdigest()


def dataset_train_pairs_sha256(dataset, train):
    r""":func:`train_pairs_sha256` of ``train``, a split part of the RecBole ``dataset``."""
    uid, iid = dataset.uid_field, dataset.iid_field
    feat = train.inter_feat
    return train_pairs_sha256(dataset.id2token(uid, feat[uid].numpy()),
                              dataset.id2token(iid, feat[iid].numpy()))


def split_settings(config):
    r"""Every config value that decides the dataset and its split (JSON-safe)."""
    from recbole.utils.argument_list import dataset_arguments

    keys = ["model", "seed", "reproducibility", "eval_args", *dataset_arguments]
    values = {key: config_value(config, key) for key in keys}
    return json.loads(json.dumps(values, default=str, sort_keys=True))


def read_split_record(vector_path):
    r"""The ``split`` record of ``vector_path``'s sidecar (``vector_path + '.json'``), or None when
    there is no sidecar or it records no split (vectors brought from elsewhere)."""
    try:
        meta = read_sidecar(vector_path)
    except LLMVectorError as error:
        raise SplitMismatchError(str(error)) from error
    return split_record_of(meta, vector_path + ".json")


def split_record_of(meta, sidecar):
    r"""The ``split`` record of the sidecar metadata ``meta`` (None when it records none);
    ``sidecar`` names the file in errors."""
    record = meta.get(SPLIT_KEY) if isinstance(meta, dict) else None
    if record is None:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("train_pairs_sha256"), str):
        raise SplitMismatchError(f"{sidecar}: its '{SPLIT_KEY}' record has no train_pairs_sha256")
    return record


def differing_settings(recorded, current):
    r"""``{key: (recorded value, current value)}`` for the split settings that the record holds
    and that differ (a record made outside the embed command may hold only a few)."""
    return {key: (recorded[key], current.get(key)) for key in sorted(recorded)
            if key not in NOT_SPLIT_SETTINGS and recorded[key] != current.get(key)}


def _short(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def embed_command(dataset_name, settings, differing):
    r"""The ``recbole_darec.embed`` command that writes user vectors for the run's split."""
    overrides = []
    for key in sorted(differing):
        value = settings.get(key)
        text = value if isinstance(value, str) else repr(value)
        overrides.append(f'--{key}="{text}"' if any(c in text for c in " {[") else f"--{key}={text}")
    if "seed" not in differing and settings.get("seed") is not None:
        overrides.append(f"--seed={settings['seed']}")
    return (f"python -m recbole_darec.embed --dataset {dataset_name} "
            f"--config_files '<this run's config files>' " + " ".join(overrides)).rstrip()


def made_by_embed(record):
    return str(record.get("built_by", "")).startswith("recbole ")  # "recbole 1.2.1: init_seed, ..."


def mismatch_message(vector_path, record, dataset_name, current_settings, current_sha, suggest_seed_file=True):
    recorded_settings = record.get("settings") or {}
    differing = differing_settings(recorded_settings, current_settings)
    lines = [
        f"{vector_path}: these user vectors were embedded from another training split than this "
        f"run's, so a user's text may name items that this run holds out for validation or test "
        f"(leakage). The run stops before training.",
        f"  the file's split: seed {recorded_settings.get('seed')!r}, training pairs sha256 "
        f"{record['train_pairs_sha256'][:12]}",
        f"  this run's split: seed {current_settings.get('seed')!r}, training pairs sha256 {current_sha[:12]}",
    ]
    if differing:
        lines.append("  settings that differ: " + "; ".join(
            f"{key}: file {_short(old)}, run {_short(new)}" for key, (old, new) in differing.items()))
    else:
        lines.append("  the split settings agree, so the interaction files differ (see the sidecar's "
                     "data_files)")
    if not made_by_embed(record):
        lines.append(f"These vectors were made by {record.get('built_by') or 'another tool'}: make them "
                     f"again for this run's split, or point llm_user_vector_file at vectors of this split.")
        return "\n".join(lines)
    lines += [
        "Embed user vectors for this run's split (about 30 s a seed on ml-100k), e.g.",
        f"  {embed_command(dataset_name, current_settings, differing)}",
    ]
    if suggest_seed_file:
        lines.append("and train each seed on its own file: put {seed} in llm_user_vector_file, e.g. "
                     f"llm_user_vector_file: dataset/{dataset_name}/{dataset_name}.seed{{seed}}.user_llm.npz "
                     "(docs/embedding.md).")
    return "\n".join(lines)


def check_user_vector_split(vector_path, dataset_name, current_settings, current_sha, require_record,
                            logger=None, suggest_seed_file=True, record=NOT_READ):
    r"""Refuse user vectors whose recorded training split is not ``current_sha``.

    A file without a split record (no sidecar, or vectors brought from elsewhere) cannot be
    checked: one warning, or an error when ``require_record`` (config key
    ``llm_require_split_record``). ``record`` is the split record as read together with the
    vectors (:func:`split_record_of`), so that a file replaced since cannot pass; by default it is
    read from the sidecar now. Returns True when the record matched."""
    if record is NOT_READ:
        record = read_split_record(vector_path)
    if record is None:
        message = (f"{vector_path}: the user vectors record no training split (no sidecar "
                   f"{os.path.basename(vector_path)}.json, or vectors brought from elsewhere), so it "
                   f"cannot be checked that no user text names a held-out item.")
        if require_record:
            raise SplitMismatchError(message + " Re-embed with `python -m recbole_darec.embed`, or set "
                                     "config key llm_require_split_record: False to accept them.")
        if logger is not None:
            logger.warning(message + " Set config key llm_require_split_record: True to refuse such files.")
        return False
    if record["train_pairs_sha256"] != current_sha:
        raise SplitMismatchError(mismatch_message(vector_path, record, dataset_name, current_settings,
                                                  current_sha, suggest_seed_file))
    return True
