r"""Writing a dataset folder so that it appears whole or not at all."""

import os
import shutil
import tempfile

import numpy as np


class DatasetImportError(ValueError):
    """A problem with an input file or the output folder; the message names the file."""


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def write_inter(path, users, items):
    r"""A ``user_id:token`` / ``item_id:token`` atomic file, sorted by user then item."""
    order = np.lexsort((items, users))
    lines = ["user_id:token\titem_id:token"]
    lines += [f"{u}\t{i}" for u, i in zip(users[order].tolist(), items[order].tolist())]
    write_lines(path, lines)


def write_dataset_folder(out, name, force, write):
    r"""Call ``write(staging_folder)``, then rename the staging folder to ``out/name``."""
    target = os.path.join(out, name)
    if os.path.exists(target) and not force:
        raise DatasetImportError(f"{target} exists; pass --force to replace it")
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}.", dir=out)
    try:
        write(staging)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o755 & ~mask)  # mkdtemp makes it 0700
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
