r"""Ray Tune sweeps of RecBole models that tune on validation, stop early and scale out.

:func:`run_sweep` (``python run_scripts/tune.py``) samples a yaml search space
(:mod:`recbole_darec.tune.space`), trains each trial through RecBole's trainer
(:mod:`recbole_darec.tune.trial`: validation reported at every evaluation step, test split
dropped), then trains the best config once and tests it. See docs/tune.md.
"""

from recbole_darec.tune.space import DEFAULT_SPACE, SearchSpaceError, check_search_space, load_search_space
from recbole_darec.tune.sweep import main, run_sweep
from recbole_darec.tune.trial import run_trial, search_loaders

__all__ = ["DEFAULT_SPACE", "SearchSpaceError", "check_search_space", "load_search_space", "main", "run_sweep",
           "run_trial", "search_loaders"]
