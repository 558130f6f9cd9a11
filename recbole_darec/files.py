r"""Writing files so that a reader never sees half of one: a temp file beside it, then a rename."""

import io
import os
import tempfile


def atomic_write(path, write):
    r"""Call ``write(binary_file)`` on a temp file in ``path``'s folder, then rename it to ``path``.
    On any error the temp file is removed and ``path`` is left as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path, write):
    r""":func:`atomic_write` for text: ``write(text_file)`` (UTF-8, newlines as written, as csv wants)."""
    def write_binary(f):
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        write(text)
        text.flush()
        text.detach()  # the binary file is atomic_write's to close

    atomic_write(path, write_binary)


def save_figure(figure, path, dpi=120):
    r"""A matplotlib ``figure`` as a PNG at ``path`` (folders made), through :func:`atomic_write`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=dpi))
