r"""RLMRec's processed splits (HKUDS/RLMRec) as RecBole benchmark atomic files.

RLMRec ships, per dataset, ``trn_mat.pkl`` / ``val_mat.pkl`` / ``tst_mat.pkl`` (pickled
``scipy.sparse`` users x items matrices, ids from 0) and, in its full release, ``usr_emb_np.pkl``
/ ``itm_emb_np.pkl`` (float arrays, row i = id i; text-embedding-ada-002, 1536-d) and
``usr_prf.pkl`` / ``itm_prf.pkl`` (dicts id -> {'profile': str, 'reasoning': str}).

:func:`import_rlmrec` writes, under ``OUT/NAME/``:

* ``NAME.train.inter``, ``NAME.valid.inter``, ``NAME.test.inter`` (``user_id:token``,
  ``item_id:token``; the tokens are RLMRec's ids), read by RecBole with
  ``benchmark_filename: [train, valid, test]`` (``properties/rlmrec.yaml``);
* ``NAME.user_llm.npz`` / ``NAME.item_llm.npz`` from the embedding files, when present;
* ``NAME.user`` / ``NAME.item`` with a ``profile:token_seq`` text field from the profiles, when
  present (``python -m recbole_darec.embed --user-fields profile`` can encode them).

Everything is checked before anything is written, and the folder appears whole or not at all
(written beside it, then renamed). Pickles can run code when loaded: import only files you trust.
"""

import os
import pickle

import numpy as np
import scipy.sparse as sp

from recbole_darec.data.llm_vectors import LLMVectorError, check_vectors, write_npz_vectors
from recbole_darec.data.split_record import train_pairs_sha256
from recbole_darec.datasets._files import (DatasetImportError, write_dataset_folder, write_inter,
                                        write_lines)

SPLITS = (("train", "trn_mat.pkl"), ("valid", "val_mat.pkl"), ("test", "tst_mat.pkl"))
VECTOR_FILES = (("user", "usr_emb_np.pkl"), ("item", "itm_emb_np.pkl"))
PROFILE_FILES = (("user", "usr_prf.pkl"), ("item", "itm_prf.pkl"))


def _load_pickle(path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
        raise DatasetImportError(f"{path}: cannot be read as a pickle ({error})") from error


def read_split(path):
    r"""The (user, item) pairs of one RLMRec split, and the matrix shape."""
    matrix = _load_pickle(path)
    if not sp.issparse(matrix):
        raise DatasetImportError(
            f"{path}: expected a pickled scipy.sparse users x items matrix, got {type(matrix).__name__}"
        )
    matrix = sp.coo_matrix(matrix)
    matrix.sum_duplicates()
    if matrix.nnz == 0:
        raise DatasetImportError(f"{path}: the matrix has no interactions")
    if np.any(matrix.data <= 0):
        raise DatasetImportError(f"{path}: expected positive entries (interactions), found {np.sum(matrix.data <= 0)} <= 0")
    return matrix.row.astype(np.int64), matrix.col.astype(np.int64), matrix.shape


def check_splits(src, splits):
    r"""Same shape everywhere, no (user, item) pair in two splits."""
    shapes = {name: shape for name, (_, _, shape) in splits.items()}
    if len(set(shapes.values())) != 1:
        described = ", ".join(f"{os.path.join(src, file)} {shapes[name]}" for name, file in SPLITS)
        raise DatasetImportError(f"the splits disagree on users x items: {described}")
    n_users, n_items = shapes["train"]
    keys = {name: rows * n_items + cols for name, (rows, cols, _) in splits.items()}
    names = [name for name, _ in SPLITS]
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            shared = np.intersect1d(keys[first], keys[second])
            if len(shared):
                user, item = divmod(int(shared[0]), n_items)
                raise DatasetImportError(
                    f"{os.path.join(src, dict(SPLITS)[first])} and {os.path.join(src, dict(SPLITS)[second])} "
                    f"share {len(shared)} (user, item) pairs, e.g. ({user}, {item}): splits must not overlap"
                )
    return n_users, n_items


def read_vectors(path, expected_rows, kind):
    vectors = _load_pickle(path)
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2:
        shape = getattr(vectors, "shape", None)
        raise DatasetImportError(
            f"{path}: expected a 2-d numpy array ({kind}s x dim), got {type(vectors).__name__} {shape or ''}".rstrip()
        )
    if vectors.shape[0] != expected_rows:
        raise DatasetImportError(
            f"{path}: {vectors.shape[0]} rows, but the splits have {expected_rows} {kind}s "
            f"(row i must be {kind} id i)"
        )
    vectors = vectors.astype(np.float32)
    try:
        check_vectors(path, [str(i) for i in range(expected_rows)], vectors)
    except LLMVectorError as error:
        raise DatasetImportError(str(error)) from error
    return vectors


def read_profiles(path, expected_rows, kind):
    profiles = _load_pickle(path)
    if not isinstance(profiles, dict):
        raise DatasetImportError(f"{path}: expected a dict {kind} id -> {{'profile': str}}, got {type(profiles).__name__}")
    texts = {}
    for key, value in profiles.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise DatasetImportError(f"{path}: key {key!r} is not an integer {kind} id") from None
        if not 0 <= index < expected_rows:
            raise DatasetImportError(f"{path}: {kind} id {index} is out of range 0..{expected_rows - 1}")
        text = value.get("profile") if isinstance(value, dict) else value
        if not isinstance(text, str):
            raise DatasetImportError(f"{path}: {kind} {index}: expected {{'profile': str}}, got {value!r:.80}")
        # One line per id, tab-separated: RecBole's atomic format cannot hold tabs or newlines.
        texts[index] = " ".join(text.split())
    return texts


def import_rlmrec(src, name, out="dataset", force=False):
    r"""Convert the RLMRec files in ``src`` into RecBole files under ``out/name``; returns that folder."""
    if not os.path.isdir(src):
        raise DatasetImportError(f"--src {src}: no such folder")
    missing = [file for _, file in SPLITS if not os.path.isfile(os.path.join(src, file))]
    if missing:
        hint = (" (RLMRec's public Steam split has no training matrix: build Steam with "
                "`python -m recbole_darec.datasets steam`)") if missing == ["trn_mat.pkl"] else ""
        raise DatasetImportError(f"{src}: missing {', '.join(missing)}{hint}")
    splits = {split: read_split(os.path.join(src, file)) for split, file in SPLITS}
    n_users, n_items = check_splits(src, splits)
    counts = {"user": n_users, "item": n_items}
    vectors = {kind: read_vectors(os.path.join(src, file), counts[kind], kind)
               for kind, file in VECTOR_FILES if os.path.isfile(os.path.join(src, file))}
    profiles = {kind: read_profiles(os.path.join(src, file), counts[kind], kind)
                for kind, file in PROFILE_FILES if os.path.isfile(os.path.join(src, file))}

    def write(folder):
        for split, (rows, cols, _) in splits.items():
            write_inter(os.path.join(folder, f"{name}.{split}.inter"), rows, cols)
        train_rows, train_cols, _ = splits["train"]
        # RLMRec wrote its user profiles from these training interactions: the split they are bound to.
        user_split = {"train_pairs_sha256": train_pairs_sha256(train_rows.tolist(), train_cols.tolist()),
                      "settings": {"benchmark_filename": [split for split, _ in SPLITS]},
                      "built_by": f"RLMRec, from its {dict(SPLITS)['train']} (re-run "
                                  f"python -m recbole_darec.datasets rlmrec to import them again)"}
        for kind, array in vectors.items():
            source = {"source": os.path.abspath(os.path.join(src, dict(VECTOR_FILES)[kind]))}
            write_npz_vectors(os.path.join(folder, f"{name}.{kind}_llm.npz"),
                              [str(i) for i in range(counts[kind])], array,
                              metadata={**source, **({"split": user_split} if kind == "user" else {})})
        for kind, texts in profiles.items():
            lines = [f"{kind}_id:token\tprofile:token_seq"]
            lines += [f"{index}\t{texts[index]}" for index in sorted(texts)]
            write_lines(os.path.join(folder, f"{name}.{kind}"), lines)

    return write_dataset_folder(out, name, force, write)
