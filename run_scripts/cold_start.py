r"""Command line of :mod:`recbole_darec.experiments.cold_start_grid` (its docstring has the usage)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's package

from recbole_darec.experiments.cold_start_grid import main  # noqa: E402

if __name__ == "__main__":
    main()
