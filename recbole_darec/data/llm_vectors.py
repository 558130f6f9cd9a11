r"""Reading, checking, aligning and writing the per-user and per-item language-model vectors.

Two on-disk formats:

* ``npz`` (ours, fast): an uncompressed ``.npz`` with ``tokens`` (the dataset's original user or
  item tokens, strings) and ``vectors`` (float, one row per token). Default file names
  ``{data_path}/{dataset}.user_llm.npz`` and ``{dataset}.item_llm.npz``.
* ``atomic`` (RecBole's documented pretrained-embedding convention): ``.useremb`` / ``.itememb``
  files loaded by RecBole through ``additional_feat_suffix`` and ``preload_weight``.

Either way the vectors are aligned to RecBole's internal ids by their original tokens.
"""

import contextlib
import hashlib
import io
import json
import os

import numpy as np

from recbole_darec.config_checks import config_value
from recbole_darec.files import atomic_write


class LLMVectorError(ValueError):
    """A problem with a language-model vector file; the message names the file."""


SEED_PLACEHOLDER = "{seed}"
# The sidecar key that ties it to the exact npz it describes.
NPZ_DIGEST_KEY = "npz_sha256"


def configured_vector_file(config, kind):
    r"""The config's ``llm_{kind}_vector_file`` with ``{seed}`` replaced by the run's ``seed``, or
    None when unset. ``{seed}`` gives every seed of a random split its own user vectors, each
    embedded from that seed's training split (docs/embedding.md)."""
    path = config_value(config, f"llm_{kind}_vector_file")
    if not path:
        return None
    path = str(path)
    if SEED_PLACEHOLDER in path:
        path = path.replace(SEED_PLACEHOLDER, str(config["seed"]))
    return path


def read_npz_vectors(path):
    r"""Return ``(tokens, vectors)`` from one of our ``.npz`` vector files, checked."""
    tokens, vectors, _ = read_npz_with_sidecar(path)
    return tokens, vectors


def read_sidecar(path):
    r"""The metadata dict of ``path + '.json'``, or None when there is none."""
    sidecar = path + ".json"
    if not os.path.isfile(sidecar):
        return None
    try:
        with open(sidecar, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as error:
        raise LLMVectorError(f"{sidecar}: not a readable JSON sidecar ({error})") from error
    if not isinstance(meta, dict):
        raise LLMVectorError(f"{sidecar}: expected a JSON object, got {type(meta).__name__}")
    return meta


def read_npz_with_sidecar(path):
    r"""``(tokens, vectors, sidecar metadata or None)`` of one ``.npz`` vector file, read together:
    the npz's bytes are hashed as they are loaded, and a sidecar that records another npz (the
    npz copied or replaced after the sidecar was written) is refused, since its record of what
    the vectors were derived from would be false."""
    if not os.path.isfile(path):
        raise LLMVectorError(
            f"{path}: LLM vector file not found. Create it with `python -m recbole_darec.embed` "
            f"or point config key llm_user_vector_file / llm_item_vector_file at it."
        )
    meta = read_sidecar(path)
    with open(path, "rb") as f:
        data = f.read()
    recorded = (meta or {}).get(NPZ_DIGEST_KEY)
    if recorded is not None and recorded != hashlib.sha256(data).hexdigest():
        raise LLMVectorError(
            f"{path}: the file is not the one its sidecar {os.path.basename(path)}.json describes "
            f"(recorded sha256 {str(recorded)[:12]}, file {hashlib.sha256(data).hexdigest()[:12]}): it "
            f"was replaced or copied after the sidecar was written, so what the sidecar says it was "
            f"derived from is unknown. Make it again with `python -m recbole_darec.embed`, or delete "
            f"the sidecar to use the file unchecked.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if "tokens" not in archive or "vectors" not in archive:
                raise LLMVectorError(
                    f"{path}: expected arrays 'tokens' and 'vectors', found {sorted(archive.files)}"
                )
            tokens, vectors = archive["tokens"].astype(str), archive["vectors"]
    except (OSError, ValueError) as error:
        if isinstance(error, LLMVectorError):
            raise
        raise LLMVectorError(f"{path}: not a readable .npz vector file ({error})") from error
    return tokens, check_vectors(path, tokens, vectors), meta


def check_vectors(source, tokens, vectors):
    r"""Validate one table of vectors; ``source`` names it in every message."""
    if len(tokens) == 0:
        raise LLMVectorError(f"{source}: the file holds no vectors (it is empty)")
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise LLMVectorError(
            f"{source}: 'vectors' must be 2-D (one row per token), got shape {vectors.shape}"
        )
    if vectors.shape[0] != len(tokens):
        raise LLMVectorError(
            f"{source}: {len(tokens)} tokens but {vectors.shape[0]} vector rows; they must match"
        )
    if vectors.shape[1] == 0:
        raise LLMVectorError(f"{source}: the vectors have width 0")
    if not np.issubdtype(vectors.dtype, np.floating):
        raise LLMVectorError(f"{source}: vectors must be floats, got dtype {vectors.dtype}")
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise LLMVectorError(
            f"{source}: {len(bad)} vector(s) contain NaN or inf, first at token {str(tokens[bad[0]])!r}"
        )
    unique, counts = np.unique(tokens, return_counts=True)
    if (counts > 1).any():
        raise LLMVectorError(
            f"{source}: token {str(unique[counts > 1][0])!r} has more than one vector"
        )
    return vectors.astype(np.float32, copy=False)


def vectors_from_ragged_rows(source, tokens, rows):
    r"""Stack RecBole ``float_seq`` rows into a matrix, refusing rows of different widths."""
    if len(rows) == 0:
        raise LLMVectorError(f"{source}: the file holds no vectors (it is empty)")
    widths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    if (widths != widths[0]).any():
        odd = int(np.flatnonzero(widths != widths[0])[0])
        raise LLMVectorError(
            f"{source}: ragged vectors: token {str(tokens[0])!r} has width {widths[0]} but token "
            f"{str(tokens[odd])!r} has width {widths[odd]}"
        )
    return check_vectors(source, tokens, np.stack(rows).astype(np.float32))


def align_vectors(source, tokens, vectors, id_tokens, on_missing="error", logger=None):
    r"""Order ``vectors`` by RecBole's internal ids.

    ``id_tokens[i]`` is the original token of internal id ``i`` (``id_tokens[0]`` is ``[PAD]``,
    whose row stays zero). Vectors of tokens RecBole does not know are dropped (they never become
    ids). A known id without a vector is an error, or with ``on_missing='mean'`` gets the mean
    vector and a warning that counts them.
    """
    row_of = {token: row for row, token in enumerate(tokens)}
    aligned = np.zeros((len(id_tokens), vectors.shape[1]), dtype=np.float32)
    rows = np.fromiter((row_of.get(t, -1) for t in id_tokens[1:]), dtype=np.int64)
    present = rows >= 0
    aligned[1:][present] = vectors[rows[present]]
    n_missing = int((~present).sum())
    if n_missing:
        missing_tokens = np.asarray(id_tokens[1:])[~present]
        if on_missing == "mean":
            aligned[1:][~present] = vectors.mean(axis=0)
            if logger is not None:
                logger.warning(
                    f"{source}: {n_missing} id(s) have no vector (e.g. {str(missing_tokens[0])!r}); "
                    f"filled with the mean vector (llm_missing: mean)"
                )
        else:
            raise LLMVectorError(
                f"{source}: {n_missing} id(s) in the interactions have no vector, e.g. "
                f"{list(missing_tokens[:5])}. Add them, or set config key llm_missing: mean"
            )
    n_unused = len(tokens) - int(present.sum())
    if n_unused and logger is not None:
        logger.info(f"{source}: ignored {n_unused} vector(s) of ids absent from the interactions")
    return aligned


def write_npz_vectors(path, tokens, vectors, metadata=None):
    r"""Write a vector file atomically (temp file, then rename), plus ``path + '.json'`` metadata."""
    tokens = np.asarray(tokens).astype(str)
    vectors = check_vectors(path, tokens, np.asarray(vectors))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # The old sidecar goes first: an interruption between the two renames must not leave new
    # vectors beside a record of what the old ones were derived from.
    with contextlib.suppress(FileNotFoundError):  # another writer may have removed it first
        os.remove(path + ".json")
    buffer = io.BytesIO()
    np.savez(buffer, tokens=tokens, vectors=vectors)
    data = buffer.getvalue()
    atomic_write(path, lambda f: f.write(data))
    if metadata is not None:
        metadata = {**metadata, NPZ_DIGEST_KEY: hashlib.sha256(data).hexdigest()}
        text = json.dumps(metadata, indent=2, sort_keys=True).encode()
        atomic_write(path + ".json", lambda f: f.write(text))


def _encoder_record(path):
    try:
        with open(path + ".json", encoding="utf-8") as f:
            encoder = json.load(f).get("encoder")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(encoder, dict):
        return None
    return {key: encoder.get(key) for key in ("files_sha256", "max_length", "pooling")}


def check_same_encoder(user_path, item_path):
    r"""Refuse user and item vectors whose sidecars name different encoders: with per-seed user
    files beside one item file, re-embedding with another encoder of the same width would
    otherwise pair them silently. Files without an encoder record are not compared."""
    user, item = _encoder_record(user_path), _encoder_record(item_path)
    if user is None or item is None or user == item:
        return
    different = ", ".join(f"{key}: user {user[key]!r}, item {item[key]!r}" for key in user if user[key] != item[key])
    raise LLMVectorError(
        f"{user_path} and {item_path} were encoded differently ({different}); re-embed both with one "
        f"encoder (python -m recbole_darec.embed ... --force)")
