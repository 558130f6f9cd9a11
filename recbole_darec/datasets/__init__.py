r"""Dataset converters: real benchmark data into RecBole atomic files (``python -m recbole_darec.datasets``)."""

from recbole_darec.datasets._files import DatasetImportError
from recbole_darec.datasets.guard import RLMREC_NAMES
from recbole_darec.datasets.rlmrec import import_rlmrec
from recbole_darec.datasets.steam import build_steam

__all__ = ["DatasetImportError", "import_rlmrec", "build_steam", "RLMREC_NAMES"]
