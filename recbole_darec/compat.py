r"""Make RecBole 1.2.1 work on today's libraries, without pinning them back.

Applied once, on ``import recbole_darec``; each fix is scoped to RecBole's own code:

* torch >= 2.6 loads with ``weights_only=True`` by default, which cannot read the checkpoints
  RecBole itself writes (they hold its ``Config``). RecBole's three checkpoint readers
  (``Trainer.evaluate``, ``Trainer.resume_checkpoint``, ``load_data_and_model``) run with the old
  default; any other ``torch.load`` keeps torch's safe default.
* scipy >= 1.13 removed ``dok_matrix._update``, which the adjacency builders of LightGCN, NGCF,
  GCMC, NCL, SpectralCF, KGIN and MCCLK call. It is restored as a plain dict update.
* numpy >= 1.24 removed ``np.float`` and friends; RecBole's own ``Config`` puts them back
  (``Config.compatibility_settings``) when it is built, from names that numpy 2 removed too
  (``np.float_``, ``np.complex_``, ``np.unicode_``), so under numpy 2 no ``Config`` could be
  built. The aliases are now made from the names both numpy 1 and 2 have (``np.float64``, ...).
  ``load_data_and_model`` (or a user's own ``torch.load`` of a checkpoint) unpickles the
  checkpoint's ``Config`` instead of building one, so in a fresh process RecBole's NDCG then
  failed on ``np.float``: an unpickled ``Config`` now runs those settings as its constructor would.
* pandas 3 copies on write, so RecBole's fills of a column in place (``df[field].fillna(...,
  inplace=True)``) change a copy and nothing else: missing values of ``.user`` / ``.item`` fields
  stayed NaN (a float field kept NaN instead of its mean, a token sequence field failed on
  ``nan.split``). ``Dataset._fill_nan`` now assigns the filled column back, and the data files'
  missing sequence values are read as empty sequences, as RecBole intended. pandas 2.x warns once
  per field and file about those fills; the warnings (and torch's deprecation notes about
  RecBole's calls) are silenced for RecBole's modules only.
* RecBole's ``ensure_dir`` checks for a folder, then creates it: processes that start together
  (parallel Ray Tune trials sharing one ``checkpoint_dir``) can all see no folder, and every
  ``makedirs`` but the first raises ``FileExistsError``, failing that trial before it trains. It
  now creates the folder with ``exist_ok``, in every RecBole module that imported it.
* current ray's ``tune.report`` takes one dict; RecBole's ``objective_function`` reports with
  keyword arguments (ray 2.6's form), which current ray refuses inside a Tune trial: its call
  now passes them as the dict.
* RecBole's multi-process training, and the device of a one-process run: see
  :mod:`recbole_darec.distributed`.
* ray 2.6 (RecBole's own pin, which an older environment may still have) imports ``pkg_resources`` whenever
  RecBole is imported, and setuptools warns about that on every run: the warning is silenced for
  ray's modules only.
"""

import contextlib
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


def _numpy_aliases(self):
    r"""RecBole's ``Config.compatibility_settings``, from names that numpy 1 and 2 both have."""
    import numpy as np

    np.bool = np.bool_
    np.int = np.int_
    np.float = np.float64
    np.complex = np.complex128
    np.object = np.object_
    np.str = np.str_
    np.long = np.int_
    np.unicode = np.str_


def _unpickled_config_state(self, state):
    from recbole_darec.distributed import as_single_process

    self.__dict__.update(state)
    self.compatibility_settings()
    as_single_process(self)


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
    Config.compatibility_settings = _numpy_aliases
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


def _fill_nan(self):
    r"""RecBole's ``Dataset._fill_nan`` with each filled column assigned back (pandas 3 copies on
    write, so a fill in place of ``feat[field]`` is lost): a missing token becomes 0 ([PAD]), a
    missing float the field's mean, a missing sequence an empty one."""
    import numpy as np
    from recbole.utils import FeatureType

    for feat_name in self.feat_name_list:
        feat = getattr(self, feat_name)
        for field in feat:
            ftype = self.field2type[field]
            if ftype == FeatureType.TOKEN:
                feat[field] = feat[field].fillna(value=0)
            elif ftype == FeatureType.FLOAT:
                feat[field] = feat[field].fillna(value=feat[field].mean())
            else:
                empty = np.int64 if ftype == FeatureType.TOKEN_SEQ else np.float64
                feat[field] = feat[field].apply(lambda x: np.array([], dtype=empty) if isinstance(x, float) else x)


class _PandasReadingEmptySequences:
    r"""The ``pandas`` that RecBole's dataset module sees: the same, except that ``read_csv``
    reads a missing value of a sequence column (header ``name:token_seq`` / ``name:float_seq``)
    as an empty string, what RecBole's in-place fill meant to do before splitting the sequences."""

    def __init__(self, pandas):
        self._pandas = pandas

    def __getattr__(self, name):
        return getattr(self._pandas, name)

    def read_csv(self, *args, **kwargs):
        frame = self._pandas.read_csv(*args, **kwargs)
        for column in frame.columns:
            if str(column).endswith(("token_seq", "float_seq")):
                frame[column] = frame[column].fillna("")
        return frame


@contextlib.contextmanager
def _row_lengths_from_agg_len():
    r"""While RecBole's sequence code runs: ``Series.agg(len)`` gives each row's length (pandas < 3's
    answer, which that code reads), not the Series' own length (pandas 3's)."""
    import pandas

    original = pandas.Series.agg

    def agg(self, func=None, *args, **kwargs):
        if func is len:
            return self.map(len)
        return original(self, func, *args, **kwargs)

    pandas.Series.agg = agg
    try:
        yield
    finally:
        pandas.Series.agg = original


def _with_row_lengths(method):
    if getattr(method, "_recbole_darec_row_lengths", False):
        return method

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _row_lengths_from_agg_len():
            return method(*args, **kwargs)

    wrapper._recbole_darec_row_lengths = True
    return wrapper


# RecBole's methods that read Series.agg(len) as row lengths.
ROW_LENGTH_READERS = (("recbole.data.dataset.dataset", "Dataset", ("_normalize", "_discretization", "_remap")),
                      ("recbole.data.dataset.kg_dataset", "KnowledgeBasedDataset", ("_reset_ent_remapID",)),
                      ("recbole.data.dataset.sequential_dataset", "SequentialDataset", ("_benchmark_presets",)))


class _RayTuneForRecBole:
    r"""``ray.tune`` as RecBole 1.2.1's ``objective_function`` calls it: ``tune.report(**metrics)``,
    ray 2.6's form. Current ray takes ``report(metrics)``; keyword metrics are passed as that dict."""

    def __init__(self, tune):
        self._tune = tune

    def __getattr__(self, name):
        return getattr(self._tune, name)

    def report(self, *args, **metrics):
        import inspect

        if not args and "metrics" in inspect.signature(self._tune.report).parameters:
            return self._tune.report(metrics)
        return self._tune.report(*args, **metrics)


def _patch_objective_function_reporting():
    import recbole.quick_start.quick_start as quick_start

    if not isinstance(quick_start.tune, _RayTuneForRecBole):
        quick_start.tune = _RayTuneForRecBole(quick_start.tune)


def _patch_pandas_fills():
    import pandas
    import recbole.data.dataset.dataset as dataset_module

    dataset_module.Dataset._fill_nan = _fill_nan
    if not isinstance(dataset_module.pd, _PandasReadingEmptySequences):
        dataset_module.pd = _PandasReadingEmptySequences(pandas)
    import importlib

    for module_name, class_name, methods in ROW_LENGTH_READERS:
        owner = getattr(importlib.import_module(module_name), class_name)
        for name in methods:
            setattr(owner, name, _with_row_lengths(owner.__dict__[name]))


def _quiet_recbole_warnings():
    # pandas 2 warns with a FutureWarning, pandas 3 with ChainedAssignmentError (a Warning): the
    # fills it names are done by _fill_nan and _PandasReadingEmptySequences instead.
    warnings.filterwarnings("ignore", message=".*chained assignment.*", category=Warning, module=r"recbole\.")
    # pandas 3 deprecates the inplace keyword that RecBole's drops, sorts and de-duplications use.
    warnings.filterwarnings("ignore", message=r".*inplace keyword.*deprecated.*", category=Warning,
                            module=r"recbole\.")
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
    _patch_pandas_fills()
    _patch_objective_function_reporting()
    from recbole_darec import distributed

    distributed.apply()
    _quiet_recbole_warnings()
    from recbole_darec.datasets.guard import guard_dataset_loading

    guard_dataset_loading()
    from recbole_darec.protocol import apply_test_history_option, apply_unseen_items_option

    apply_test_history_option()
    apply_unseen_items_option()
    from recbole_darec.resume import apply_resume_option

    apply_resume_option()
    _APPLIED = True
