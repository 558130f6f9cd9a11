r"""Command line of :mod:`recbole_darec.experiments.demo` (its docstring has the usage)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's package

from recbole_darec.experiments.demo import main  # noqa: E402

if __name__ == "__main__":
    main()
