r"""Search spaces for :mod:`recbole_darec.tune`, read from a yaml file.

Each top-level key is a RecBole config key; its value names one distribution::

    darec_weight:        {loguniform: [0.01, 1.0]}   # low, high (both > 0)
    darec_uniformity_t:  {uniform: [1.0, 4.0]}       # low, high
    darec_sample_size:   {randint: [512, 4097]}      # low, high; high excluded, as in Ray Tune
    darec_n_clusters:    {choice: [2, 4, 8, 16]}     # any list of values

With the ``grid`` search algorithm every key must be a ``choice``: its values are tried
exhaustively (all combinations), and ``num_samples`` repeats the whole grid.
"""

import os

DISTRIBUTIONS = ("choice", "uniform", "loguniform", "randint")
DEFAULT_SPACE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "properties", "tune", "darec.yaml")


class SearchSpaceError(ValueError):
    r"""A search-space file that cannot be used; the message names the file and the key."""


def _recbole_yaml_loader():
    # RecBole's own loader: it reads 1e-3 as a float, where plain yaml reads a string.
    from recbole.config import Config

    return Config._build_yaml_loader(None)


def read_yaml(path, what="file"):
    import yaml

    if not os.path.isfile(path):
        raise SearchSpaceError(f"{what} {path} does not exist")
    with open(path) as f:
        try:
            content = yaml.load(f, Loader=_recbole_yaml_loader())
        except yaml.YAMLError as error:
            raise SearchSpaceError(f"{path}: not valid yaml: {error}") from None
    return {} if content is None else content


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_search_space(space, source):
    r"""Return ``{key: (distribution, arguments)}`` or raise :class:`SearchSpaceError`."""
    if not isinstance(space, dict) or not space:
        raise SearchSpaceError(f"{source}: expected a mapping of config keys to distributions, "
                               f"e.g. 'darec_weight: {{loguniform: [0.01, 1.0]}}'")
    checked = {}
    for key, spec in space.items():
        where = f"{source}: key {key!r}"
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
            raise SearchSpaceError(f"{where}: expected exactly one of {', '.join(DISTRIBUTIONS)} "
                                   f"(e.g. {{choice: [1, 2]}}), got {spec!r}")
        kind, args = next(iter(spec.items()))
        if kind == "choice":
            if not isinstance(args, list) or not args:
                raise SearchSpaceError(f"{where}: choice needs a non-empty list of values, got {args!r}")
        else:
            if not isinstance(args, list) or len(args) != 2 or not all(map(_is_number, args)):
                raise SearchSpaceError(f"{where}: {kind} needs [low, high] (two numbers), got {args!r}")
            low, high = args
            if not low < high:
                raise SearchSpaceError(f"{where}: {kind} needs low < high, got {args!r}")
            if kind == "loguniform" and low <= 0:
                raise SearchSpaceError(f"{where}: loguniform needs low > 0, got {args!r}")
            if kind == "randint" and not all(isinstance(a, int) for a in args):
                raise SearchSpaceError(f"{where}: randint needs two integers, got {args!r}")
        checked[key] = (kind, args)
    return checked


def load_search_space(path=None):
    r"""The checked search space of a yaml file (DaRec's default space when ``path`` is None)."""
    path = DEFAULT_SPACE if path is None else path
    return check_search_space(read_yaml(path, what="search-space file"), path)


def to_tune_space(space, algorithm, source="search space"):
    r"""Ray Tune's ``param_space`` for ``random`` or ``grid`` search."""
    from ray import tune

    if algorithm not in ("random", "grid"):
        raise SearchSpaceError(f"search algorithm must be 'random' or 'grid', got {algorithm!r}")
    if algorithm == "grid":
        not_choice = [f"{key} ({kind})" for key, (kind, _) in space.items() if kind != "choice"]
        if not_choice:
            raise SearchSpaceError(f"{source}: grid search needs every key as a choice; not: {', '.join(not_choice)}")
        return {key: tune.grid_search(list(args)) for key, (_, args) in space.items()}
    sample = {"choice": tune.choice, "uniform": tune.uniform, "loguniform": tune.loguniform, "randint": tune.randint}
    return {key: sample[kind](*args) if kind != "choice" else tune.choice(list(args))
            for key, (kind, args) in space.items()}
