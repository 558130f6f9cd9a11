r"""The docs' tables of results, generated from the runs files.

A page holds a generated block where a table of numbers goes::

    <!-- generated: variants --runs results/darec-score-fused.runs.csv --dataset ml-100k --rows ... -->
    | ... |
    <!-- end generated -->

The directive after ``generated:`` names a table of :mod:`.tables` and its arguments; the lines
up to ``end generated`` are its output, never edited by hand.

    python -m recbole_darec.experiments.pages            # rewrite every block of README.md and docs/
    python -m recbole_darec.experiments.pages --check    # change nothing; exit 1 naming stale pages

A test runs the check, so a table that no longer matches its runs file fails CI.
"""

import argparse
import glob
import os
import re
import sys

from recbole_darec.experiments import REPO
from recbole_darec.experiments.tables import TableError, make_table
from recbole_darec.files import atomic_write_text

BLOCK = re.compile(r"(<!-- generated: (?P<directive>.*?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


def pages(root=REPO):
    r"""README.md and every docs/ page, relative to ``root``."""
    found = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "**", "*.md"),
                                                                 recursive=True))
    return [path for path in found if os.path.isfile(path)]


def regenerated(text, where, root=REPO):
    r"""``text`` with each generated block's body made again from its directive (paths in a
    directive are relative to ``root``)."""

    def fill(match):
        try:
            previous = os.getcwd()
            os.chdir(root)
            try:
                table = make_table(match.group("directive"))
            finally:
                os.chdir(previous)
        except (TableError, OSError, SystemExit) as error:
            raise TableError(f"{where}: generated block `{match.group('directive')}`: {error}") from error
        return match.group(1) + table + "\n" + match.group(4)

    return BLOCK.sub(fill, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page is stale")
    parser.add_argument("--root", default=REPO, help="the checkout whose pages and runs files to read")
    args = parser.parse_args(argv)
    stale = []
    for path in pages(args.root):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = regenerated(text, os.path.relpath(path, args.root), args.root)
        if new != text:
            stale.append(os.path.relpath(path, args.root))
            if not args.check:
                atomic_write_text(path, lambda f: f.write(new))
    if args.check and stale:
        print("generated tables differ from their runs files in: " + ", ".join(stale)
              + " (python -m recbole_darec.experiments.pages rewrites them)", file=sys.stderr)
        return 1
    print(("rewrote: " + ", ".join(stale)) if stale else "every generated table is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
