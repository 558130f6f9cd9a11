r"""Command line of :mod:`recbole_darec.experiments.reproduce` (its docstring has the usage)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's package

from recbole_darec.experiments.reproduce import main  # noqa: E402

if __name__ == "__main__":
    main()
