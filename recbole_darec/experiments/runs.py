r"""Runs files: one row per finished run (``<output>.runs.csv``), shared by invocations that run at
the same time, and the per-cell folder that lets an interrupted run continue.

A row holds the run's test metrics and its bookkeeping (model, dataset, seed, the fingerprint of
its setting, the digest of the vector files it read, wall time, epochs). Rows are appended under a
file lock to what is on disk, so two invocations sharing an output never lose each other's runs."""

import contextlib
import csv
import fcntl
import hashlib
import json
import os
import re

from recbole_darec.files import atomic_write_text

# Columns read back as text, and as integers; every other column is a float.
STRING_COLUMNS = ("model", "dataset", "setting", "backbone", "variant", "reused_from", "vectors", "spec")
INTEGER_COLUMNS = ("seed", "epochs", "best_epoch", "resumed_after_epoch")
# Columns of a run that are neither test metrics nor averaged into a table.
RUN_BOOKKEEPING = ("model", "seed", "best_valid", "seconds", "epochs", "best_epoch", "resumed_after_epoch",
                   "vectors")


def read_runs(path):
    r"""The rows of a runs file, typed; [] when there is none yet."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))

    def typed(key, value):
        if key in STRING_COLUMNS:
            return value
        return int(value) if key in INTEGER_COLUMNS else float(value)

    # One runs file may hold datasets with different cutoffs (Steam's @5 beside ml-100k's @10/@20):
    # a column a row never had is left out of that row rather than read as a number.
    return [{key: typed(key, value) for key, value in row.items() if value != ""} for row in rows]


def write_rows(f, rows):
    r"""``rows`` as CSV to the open file ``f``, with the union of their columns in first-seen order
    (runs made before a column was recorded leave it empty)."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)


def write_runs(path, rows):
    r"""Replace ``path`` with ``rows`` through a temp file and a rename."""
    atomic_write_text(path, lambda f: write_rows(f, rows))


def append_run(path, row):
    r"""Append ``row`` to the runs file on disk under a lock; return every run now in it."""
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runs = read_runs(path) + [row]
        write_runs(path, runs)
    return runs


def one_per_seed(rows):
    r"""The first run of each seed: two invocations sharing an output may both finish one cell."""
    first = {}
    for row in rows:
        first.setdefault(row["seed"], row)
    return list(first.values())


# A top-level config line of the language-vector keys, which only models that read vectors read
# (an indented llm_ line belongs to another key's value, and stays).
VECTOR_KEY_LINE = re.compile(rb"^llm_\w+[ \t]*:.*$\n?", re.MULTILINE)


def setting_fingerprint(config_files, overrides, reads_vectors=True):
    r"""A digest of a cell's setting: its config files' content and its overrides. For a model that
    reads no language vectors (``reads_vectors=False``) the ``llm_*`` keys are left out, as the
    model never reads them: re-embedding the vectors does not make its runs stale."""
    digest = hashlib.sha256()
    for path in config_files:
        with open(path, "rb") as f:
            content = f.read()
        digest.update(content if reads_vectors else VECTOR_KEY_LINE.sub(b"", content))
    kept = {k: v for k, v in overrides.items() if reads_vectors or not k.startswith("llm_")}
    digest.update(json.dumps(sorted(kept.items())).encode())
    return digest.hexdigest()[:12]


def cell_folder(output, dataset, model, seed, setting):
    r"""Where one cell's best checkpoint and resume state live until its row is in the runs file
    (``<output>.resume/``, git-ignored): an interrupted grid continues each unfinished run from its
    last validation."""
    return os.path.join(f"{output}.resume", f"{dataset}-{model}-seed{seed}-{setting}")


@contextlib.contextmanager
def claimed(folder):
    r"""True while this process holds ``folder``'s cell; False if another invocation sharing the
    output is training it (it would otherwise continue the same resume state twice)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "claim.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
