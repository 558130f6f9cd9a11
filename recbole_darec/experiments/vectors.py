r"""Language vectors for the split a run trains on.

A user's text lists the items of one training split, so every seed of a random split needs its own
user vectors (docs/embedding.md). Before a run of a model that reads vectors, the scripts call
:func:`ensure_split_vectors`, which runs ``python -m recbole_darec.embed`` with the run's config
files, seed and settings: a no-op when the files are up to date, about 30 s a seed on ml-100k
otherwise (the item vectors do not depend on the split and are encoded once).

Only datasets whose vectors we encode offline ourselves are embedded here
(:data:`EMBEDDED_HERE`). Steam's come from its builder and RLMRec's from their import, for their
fixed splits; the training run checks those against its split all the same.
"""

import hashlib
import os
import shlex
import subprocess
import sys

EMBEDDED_HERE = ("ml-100k",)


def reads_llm_vectors(model):
    r"""Whether RecBole model ``model`` (a name) reads language-model vectors (DaRec, Con, Gen, AlphaRec)."""
    import recbole_darec  # noqa: F401  (registers our models with RecBole)
    from recbole.utils import get_model

    from recbole_darec.model.llm_vector_input import LLMVectorInput

    return issubclass(get_model(model), LLMVectorInput)


def embed_command(dataset, config_files, seed, settings=None, extra_args=""):
    r"""The argv of ``python -m recbole_darec.embed`` for this run's split: its config files, its
    seed and its ``--key=value`` settings (those that decide the split must match; the others are
    read and ignored)."""
    command = [sys.executable, "-m", "recbole_darec.embed", "--dataset", dataset]
    if config_files:
        command += ["--config_files", " ".join(config_files)]
    command += [f"--{key}={value}" for key, value in (settings or {}).items() if key != "seed"]
    command += [f"--seed={seed}", *shlex.split(extra_args)]
    return command


_ENSURED = set()


def ensure_split_vectors(dataset, model, config_files, seed, settings=None, extra_args="", cwd=None,
                         embedded_here=EMBEDDED_HERE):
    r"""Embed the vectors of ``seed``'s split before ``model`` trains on ``dataset``, once per
    process and setting. Returns True when the embed command ran (it may have found the files up
    to date), False when nothing was needed (a model that reads no vectors, or a dataset not in
    ``embedded_here``, whose vectors come from elsewhere)."""
    if dataset not in embedded_here or not reads_llm_vectors(model):
        return False
    command = embed_command(dataset, config_files, seed, settings, extra_args)
    key = (tuple(command), cwd)
    if key in _ENSURED:
        return True
    print("$", " ".join(shlex.quote(part) for part in command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=cwd)
    _ENSURED.add(key)
    return True


def vectors_digest(model, dataset, config_files, seed, settings=None):
    r"""A digest of the language-vector files that a run of ``model`` on ``dataset`` with ``seed``
    and ``settings`` reads, as they are now: ``""`` for a model that reads none, None when a file
    is missing. A finished run records it, so that a grid never counts a run made on other
    vectors (re-embedded since, with another encoder or text) as done."""
    if not reads_llm_vectors(model):
        return ""
    from recbole.config import Config

    from recbole_darec.data.dataset import DaRecDataset

    config = Config(model=model, dataset=dataset, config_file_list=list(config_files),
                    config_dict={**(settings or {}), "seed": seed})
    digest = hashlib.sha256()
    for path in DaRecDataset.vector_files(config):
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()[:12]


def same_vectors(row, digest):
    r"""Whether a finished run's row was made on the vectors whose digest is ``digest``; a row
    from before runs recorded it (no ``vectors``) is taken as it is."""
    recorded = row.get("vectors")
    return recorded in (None, "") or recorded == digest
