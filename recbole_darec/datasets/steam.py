r"""Steam with real game text, from RLMRec's public Steam files and Kang & McAuley's metadata.

RLMRec's public Steam release has the validation and test matrices but no training matrix, so
the paper's split cannot be rebuilt. :func:`build_steam` takes the union of the two (209,732
pairs on the real files) and re-splits it **3:1:1 per user with a fixed seed**: for a user with
n interactions, round(n/5) go to validation, round(n/5) to test and the rest to training, at
random (a user with fewer than 3 keeps everything in training). This is *not* the paper's split; numbers on it are not comparable with published ones.

Item text comes from ``steam_games.json.gz`` (JSON lines; empty records of NaN are skipped)
through RLMRec's ``item_mapper.json`` (item id -> Steam app id): title, publisher, developer,
genres, tags and specs, written to ``steam.item`` for ``python -m recbole_darec.embed``.
"""

import gzip
import json
import os

import numpy as np

from recbole_darec.datasets._files import (DatasetImportError, write_dataset_folder, write_inter,
                                        write_lines)
from recbole_darec.datasets.rlmrec import read_split

TEXT_FIELDS = ("title", "publisher", "developer", "genres", "tags", "specs")
DEFAULT_SEED = 2024


def resplit_per_user(users, items, seed):
    r"""Indices of the training, validation and test pairs: per user, round(n/5) validation,
    round(n/5) test, the rest training, chosen at random with ``seed``."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(users)), users))
    sorted_users = users[order]
    starts = np.searchsorted(sorted_users, sorted_users, side="left")
    counts = np.bincount(sorted_users)[sorted_users]
    rank = np.arange(len(order)) - starts
    n_held = (2 * counts + 5) // 10  # n/5 rounded half up
    valid = rank < n_held
    test = (rank >= n_held) & (rank < 2 * n_held)
    train = ~(valid | test)
    return order[train], order[valid], order[test]


def read_item_mapper(path):
    mapping = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                mapping[int(record["iid"])] = str(record["product_id"])
            except (ValueError, KeyError, TypeError) as error:
                raise DatasetImportError(
                    f"{path}:{number}: expected {{\"iid\": int, \"product_id\": str}} ({error})") from None
    return mapping


def _text(value):
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return ""
    return " ".join(value.split())


def read_games(path, wanted_ids):
    r"""``{app id: {field: text}}`` for the wanted app ids."""
    games = {}
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as error:
                    raise DatasetImportError(f"{path}:{number}: not JSON ({error})") from None
                app_id = record.get("id") if isinstance(record, dict) else None
                if not isinstance(app_id, str) or app_id not in wanted_ids:
                    continue  # the empty records have id NaN
                fields = {field: _text(record.get(field)) for field in TEXT_FIELDS}
                fields["title"] = fields["title"] or _text(record.get("app_name"))
                games[app_id] = fields
    except OSError as error:
        raise DatasetImportError(f"{path}: cannot be read ({error})") from error
    return games


def build_steam(splits_dir, games_file, out="dataset", name="steam", seed=DEFAULT_SEED, force=False):
    r"""Write ``out/name/`` (benchmark .inter files and ``name.item``); returns the folder and
    a summary dict."""
    files = {part: os.path.join(splits_dir, f"{part}_mat.pkl") for part in ("val", "tst")}
    mapper_file = os.path.join(splits_dir, "item_mapper.json")
    for path in (*files.values(), mapper_file, games_file):
        if not os.path.isfile(path):
            raise DatasetImportError(f"{path}: no such file")
    parts = {part: read_split(path) for part, path in files.items()}
    if parts["val"][2] != parts["tst"][2]:
        raise DatasetImportError(
            f"{files['val']} {parts['val'][2]} and {files['tst']} {parts['tst'][2]} disagree on users x items")
    n_users, n_items = parts["val"][2]
    users = np.concatenate([parts["val"][0], parts["tst"][0]])
    items = np.concatenate([parts["val"][1], parts["tst"][1]])
    _, first = np.unique(users * n_items + items, return_index=True)
    users, items = users[np.sort(first)], items[np.sort(first)]

    mapping = read_item_mapper(mapper_file)
    missing_map = sorted(set(range(n_items)) - set(mapping))
    if missing_map:
        raise DatasetImportError(f"{mapper_file}: no app id for {len(missing_map)} item ids, e.g. {missing_map[:5]}")
    games = read_games(games_file, set(mapping.values()))
    without_text = [i for i in range(n_items) if mapping[i] not in games]

    train, valid, test = resplit_per_user(users, items, seed)

    def write(folder):
        for split, index in (("train", train), ("valid", valid), ("test", test)):
            write_inter(os.path.join(folder, f"{name}.{split}.inter"), users[index], items[index])
        lines = ["item_id:token\t" + "\t".join(f"{field}:token_seq" for field in TEXT_FIELDS)]
        for item in range(n_items):
            fields = games.get(mapping[item], {})
            lines.append("\t".join([str(item)] + [fields.get(field, "") for field in TEXT_FIELDS]))
        write_lines(os.path.join(folder, f"{name}.item"), lines)

    target = write_dataset_folder(out, name, force, write)
    summary = {"users": n_users, "items": n_items, "pairs": len(users), "train": len(train),
               "valid": len(valid), "test": len(test), "items_without_text": len(without_text), "seed": seed}
    return target, summary

