r"""Make RecBole 1.2.1 work on today's libraries, without pinning them back.

Applied once, on ``import recbole_darec``; each fix is scoped to RecBole's own code:

* torch >= 2.6 loads with ``weights_only=True`` by default, which cannot read the checkpoints
  RecBole itself writes (they hold its ``Config``). RecBole's three checkpoint readers
  (``Trainer.evaluate``, ``Trainer.resume_checkpoint``, ``load_data_and_model``) run with the old
  default; any other ``torch.load`` keeps torch's safe default.
* scipy >= 1.13 removed ``dok_matrix._update``, which the adjacency builders of LightGCN, NGCF,
  GCMC, NCL, SpectralCF, KGIN and MCCLK call. It is restored as a plain dict update.
* numpy >= 1.24 removed ``np.float`` and friends; RecBole's own ``Config`` puts them back
  (``Config.compatibility_settings``) when it is built, but ``load_data_and_model`` (or a user's
  own ``torch.load`` of a checkpoint) unpickles the checkpoint's ``Config`` instead of building
  one, so in a fresh process RecBole's NDCG then fails on ``np.float``. An unpickled ``Config``
  now runs those settings as its constructor would have.
* pandas 2.x warns once per field and file about RecBole's chained ``inplace=True`` fills; those
  warnings (and torch's deprecation notes about RecBole's calls) are silenced for RecBole's
  modules only. pandas 3 makes those fills silent no-ops (copy-on-write), so setup.py pins
  pandas < 3 and a warning is raised if pandas 3 is found anyway.
* RecBole's ``ensure_dir`` checks for a folder, then creates it: processes that start together
  (parallel Ray Tune trials sharing one ``checkpoint_dir``) can all see no folder, and every
  ``makedirs`` but the first raises ``FileExistsError``, failing that trial before it trains. It
  now creates the folder with ``exist_ok``, in every RecBole module that imported it.
* ray 2.6 (RecBole's pin) imports ``pkg_resources`` whenever RecBole is imported, and setuptools
  warns about that on every run; setup.py pins setuptools < 82, which still ships it, so the
  warning is noise to our users and is silenced for ray's modules only.
"""

import functools
import os
import warnings

import torch

_APPLIED = False


def _trusting_recbole_checkpoints(function):
    if getattr(function, "_recbole_darec_trusting", False):
        return function

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        original_load = torch.load

        def load(*load_args, **load_kwargs):
            load_kwargs.setdefault("weights_only", False)
            return original_load(*load_args, **load_kwargs)

        torch.load = load
        try:
            return function(*args, **kwargs)
        finally:
            torch.load = original_load

    wrapper._recbole_darec_trusting = True
    return wrapper


def _unpickled_config_state(self, state):
    self.__dict__.update(state)
    self.compatibility_settings()


def _patch_checkpoint_loading():
    import recbole.quick_start
    import recbole.quick_start.quick_start as quick_start
    from recbole.config import Config
    from recbole.trainer import Trainer

    Trainer.evaluate = _trusting_recbole_checkpoints(Trainer.evaluate)
    Trainer.resume_checkpoint = _trusting_recbole_checkpoints(Trainer.resume_checkpoint)
    load = _trusting_recbole_checkpoints(quick_start.load_data_and_model)
    quick_start.load_data_and_model = load
    recbole.quick_start.load_data_and_model = load
    # Checkpoints pickle RecBole's Config; unpickling skips its constructor's numpy settings.
    Config.__setstate__ = _unpickled_config_state


def _dok_update(self, data):
    self._dict.update(data) if hasattr(self, "_dict") else dict.update(self, data)


def _patch_scipy_dok():
    from scipy.sparse import dok_matrix

    if not hasattr(dok_matrix, "_update"):
        dok_matrix._update = _dok_update


def _ensure_dir(dir_path):
    r"""RecBole's ``ensure_dir`` without its check-then-create race."""
    os.makedirs(dir_path, exist_ok=True)


RECBOLE_ENSURE_DIR_USERS = ("recbole.utils", "recbole.utils.utils", "recbole.utils.logger",
                            "recbole.data.utils", "recbole.data.dataset.dataset", "recbole.trainer.trainer")


_RECBOLE_ENSURE_DIR = None  # RecBole's own, kept so a test can show the race it had


def _patch_ensure_dir():
    import importlib

    global _RECBOLE_ENSURE_DIR
    import recbole.utils.utils

    if recbole.utils.utils.ensure_dir is not _ensure_dir:
        _RECBOLE_ENSURE_DIR = recbole.utils.utils.ensure_dir
    for name in RECBOLE_ENSURE_DIR_USERS:
        module = importlib.import_module(name)
        if getattr(module, "ensure_dir", None) is not None:
            module.ensure_dir = _ensure_dir


def _quiet_ray_pkg_resources_warning():
    warnings.filterwarnings(
        "ignore", message=r"pkg_resources is deprecated", category=UserWarning, module=r"ray\."
    )


def _quiet_recbole_warnings():
    import pandas

    if int(pandas.__version__.split(".")[0]) >= 3:
        warnings.warn(
            "recbole_darec: pandas >= 3 makes RecBole 1.2.1's chained fillna(inplace=True) "
            "a no-op (copy-on-write), so missing values in .user/.item files stay NaN; "
            "install pandas<3 (setup.py pins it).",
            RuntimeWarning,
        )
    warnings.filterwarnings(
        "ignore", message=".*chained assignment.*", category=FutureWarning, module=r"recbole\."
    )
    for message in (r".*torch\.cuda\.amp\..*", r".*torch\.sparse\..*", r".*sparse.*deprecated.*"):
        for category in (FutureWarning, UserWarning):
            warnings.filterwarnings("ignore", message=message, category=category, module=r"recbole\.")
    warnings.filterwarnings(
        "ignore", message=r".*NumPy array is not writable.*", category=UserWarning, module=r"recbole\."
    )


def apply():
    global _APPLIED
    if _APPLIED:
        return
    _quiet_ray_pkg_resources_warning()  # before the first import of RecBole, which imports ray
    _patch_checkpoint_loading()
    _patch_scipy_dok()
    _patch_ensure_dir()
    _quiet_recbole_warnings()
    from recbole_darec.datasets.guard import guard_dataset_loading

    guard_dataset_loading()
    from recbole_darec.protocol import apply_test_history_option

    apply_test_history_option()
    from recbole_darec.resume import apply_resume_option

    apply_resume_option()
    _APPLIED = True
