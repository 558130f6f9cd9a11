r"""A cold-start split: a share of the items has no training interaction at all.

    python -m recbole_darec.datasets cold --dataset ml-100k [--data_path DIR] --item-ratio 0.2
        --seed 2024 --name ml-100k-cold [--out dataset] [--force]

Reads the atomic files of ``DATA_PATH/NAME/`` (``NAME.inter``, or the benchmark parts
``NAME.train/valid/test.inter``, merged), draws ``round(item_ratio x items)`` items with the seed
and sends every interaction of theirs to validation or test (each with probability 1/2, from the
same seed). The other (warm) interactions keep a per-user random 8:1:1 split, counted as RecBole
counts its own (:func:`recbole_split_counts`). Writes
``OUT/NAME-cold/`` with ``NAME-cold.train/valid/test.inter`` (the source's columns and lines,
used with ``benchmark_filename: [train, valid, test]``), a copy of ``NAME.item`` / ``NAME.user``
under the new name (the item features must cover every item, cold ones included: the encoder
reads them; a ``.item`` file that misses one is refused),
and ``NAME-cold.cold.json``, which records the source files' sha256, the ratio, the seed and the
cold items. Everything is checked before anything is written; the folder appears whole or not
at all. Vectors are not copied: ``python -m recbole_darec.embed --dataset NAME-cold`` encodes the
items (every one) and the users from this split's training interactions only.
"""

import hashlib
import json
import os

import numpy as np

from recbole_darec.datasets._files import DatasetImportError, write_dataset_folder, write_lines
from recbole_darec.text import read_atomic_file, read_header

WARM_RATIOS = (0.8, 0.1, 0.1)  # RecBole's default random split, per user
PARTS = ("train", "valid", "test")


def source_folder(dataset, data_path=None):
    r"""``DATA_PATH/NAME``; without ``data_path``, ``dataset/NAME`` or else RecBole's bundled copy."""
    if data_path:
        return os.path.join(data_path, dataset)
    local = os.path.join("dataset", dataset)
    if os.path.isdir(local) and any(f.endswith(".inter") for f in os.listdir(local)):
        return local
    import recbole

    return os.path.join(os.path.dirname(recbole.__file__), "dataset_example", dataset)


def read_interactions(folder, dataset):
    r"""``(header, lines, user tokens, item tokens, source files)``: every interaction line of the
    dataset (one file, or the benchmark parts merged), checked."""
    single = os.path.join(folder, f"{dataset}.inter")
    parts = [os.path.join(folder, f"{dataset}.{part}.inter") for part in PARTS]
    files = [single] if os.path.isfile(single) else [p for p in parts if os.path.isfile(p)]
    if not files:
        raise DatasetImportError(f"{folder}: no {dataset}.inter and no {dataset}.train/valid/test.inter")
    header, lines = None, []
    for path in files:
        with open(path, encoding="utf-8") as f:
            rows = f.read().splitlines()
        if not rows:
            raise DatasetImportError(f"{path}: empty (expected a header line, then interactions)")
        if header is None:
            header = rows[0]
        elif rows[0] != header:
            raise DatasetImportError(f"{path}: header {rows[0]!r} differs from {files[0]}'s {header!r}")
        lines += [row for row in rows[1:] if row.strip()]
    columns = [name.split(":")[0] for name in header.split("\t")]
    if "user_id" not in columns or "item_id" not in columns:
        raise DatasetImportError(f"{files[0]}: expected columns user_id and item_id, got {header!r}")
    u, i = columns.index("user_id"), columns.index("item_id")
    fields = [line.split("\t") for line in lines]
    short = next((n for n, row in enumerate(fields) if len(row) != len(columns)), None)
    if short is not None:
        raise DatasetImportError(f"{files[0]}: interaction {short + 1} has {len(fields[short])} fields, "
                                 f"the header {len(columns)}")
    users = np.array([row[u] for row in fields])
    items = np.array([row[i] for row in fields])
    return header, lines, users, items, files


def cold_split(users, items, item_ratio, seed):
    r"""``(part per interaction: 0 train / 1 valid / 2 test, sorted cold item tokens)``."""
    rng = np.random.default_rng(seed)
    distinct = np.unique(items)
    n_cold = int(round(item_ratio * len(distinct)))
    cold_items = np.sort(rng.choice(distinct, size=n_cold, replace=False))
    is_cold = np.isin(items, cold_items)
    part = np.zeros(len(items), dtype=np.int64)
    part[is_cold] = 1 + (rng.random(int(is_cold.sum())) < 0.5)
    # Warm rows: each user's in a random order, then its first 80% to training, 10% / 10% after.
    warm = np.flatnonzero(~is_cold)
    order = warm[np.lexsort((rng.random(len(warm)), users[warm]))]
    _, starts, group, counts = np.unique(users[order], return_index=True, return_inverse=True, return_counts=True)
    position = np.arange(len(order)) - starts[group]
    n_train, n_valid, n_test = recbole_split_counts(counts)
    n_train, n_valid = n_train[group], n_valid[group]
    part[order] = np.where(position < n_train, 0, np.where(position < n_train + n_valid, 1, 2))
    return part, cold_items


def recbole_split_counts(totals):
    r"""(train, valid, test) counts per user, as RecBole 1.2.1's ``_calcu_split_ids`` computes them
    for ``WARM_RATIOS``: each part's share rounded down, the rest to training, then a user whose
    test (then validation) share is between 0 and 1 interaction gets one, while training keeps two."""
    totals = np.asarray(totals, dtype=np.int64)
    counts = [None] + [np.floor(ratio * totals).astype(np.int64) for ratio in WARM_RATIOS[1:]]
    counts[0] = totals - counts[1] - counts[2]
    stopped = np.zeros(len(totals), dtype=bool)
    for part in (2, 1):  # RecBole walks the ratios from the last
        stopped |= counts[0] <= 1
        share = WARM_RATIOS[part] * totals
        bump = ~stopped & (share > 0) & (share < 1)
        counts[part] = counts[part] + bump
        counts[0] = counts[0] - bump
    return counts


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_cold(dataset, item_ratio, seed, name=None, data_path=None, out="dataset", force=False):
    r"""Write ``out/name/``; returns the folder and a summary dict."""
    name = name or f"{dataset}-cold"
    if not 0 < item_ratio < 1:
        raise DatasetImportError(f"--item-ratio must be between 0 and 1 (exclusive), got {item_ratio}")
    if name == dataset:
        raise DatasetImportError(f"--name {name}: must differ from the source dataset's name")
    folder = source_folder(dataset, data_path)
    if not os.path.isdir(folder):
        raise DatasetImportError(f"{folder}: no such dataset folder (set --data_path to the folder holding {dataset}/)")
    header, lines, users, items, files = read_interactions(folder, dataset)
    pairs = users.astype(object) + "\t" + items.astype(object)
    if len(np.unique(pairs)) != len(pairs):
        raise DatasetImportError(f"{files[0]}: a (user, item) pair occurs more than once; a pair would "
                                 f"then sit in training and in test")
    part, cold_items = cold_split(users, items, item_ratio, seed)
    if len(cold_items) == 0 or not (part == 0).any():
        raise DatasetImportError(f"--item-ratio {item_ratio} leaves {len(cold_items)} cold items and "
                                 f"{int((part == 0).sum())} training interactions; both must be > 0")
    features = [os.path.join(folder, f"{dataset}.{kind}") for kind in ("item", "user")]
    features = [path for path in features if os.path.isfile(path)]
    item_file = os.path.join(folder, f"{dataset}.item")
    if os.path.isfile(item_file):
        types = read_header(item_file)
        if "item_id" not in types:
            raise DatasetImportError(f"{item_file}: no item_id column (header fields {list(types)})")
        described = set(read_atomic_file(item_file, fields=["item_id"])[1]["item_id"].str.strip())
        missing = sorted(set(items.tolist()) - described)
        if missing:
            raise DatasetImportError(f"{item_file}: no row for {len(missing)} item(s) of the interactions, e.g. "
                                     f"{missing[:5]}; every item, cold ones above all, needs its text")
    record = {
        "source": {os.path.basename(p): {"path": os.path.abspath(p), "sha256": _sha256(p)} for p in files + features},
        "item_ratio": item_ratio, "seed": seed, "warm_ratios": list(WARM_RATIOS),
        "cold_items": cold_items.tolist(),
    }

    def write(staging):
        for index, split in enumerate(PARTS):
            chosen = np.flatnonzero(part == index)
            write_lines(os.path.join(staging, f"{name}.{split}.inter"), [header] + [lines[r] for r in chosen])
        for path in features:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(os.path.join(staging, name + path[len(os.path.join(folder, dataset)):]), "w",
                      encoding="utf-8") as f:
                f.write(text)
        with open(os.path.join(staging, f"{name}.cold.json"), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)

    target = write_dataset_folder(out, name, force, write)
    train_users = set(users[part == 0].tolist())
    summary = {"items": len(np.unique(items)), "cold_items": len(cold_items),
               "train": int((part == 0).sum()), "valid": int((part == 1).sum()), "test": int((part == 2).sum()),
               "users_without_training": len(set(users.tolist()) - train_users), "seed": seed}
    return target, summary
