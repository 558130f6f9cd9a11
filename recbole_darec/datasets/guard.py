r"""Never train on a dataset other than the one the user means.

RecBole downloads a dataset whose folder is missing when its name is in RecBole's ``url.yaml``.
For ``yelp`` that is RecBole's own Yelp, not RLMRec's split that our importer writes, and the run
would go on with different data. :func:`guard_dataset_loading` makes RecBole stop instead, with the
command that imports the data, and explains a folder of benchmark files read without
``benchmark_filename``.
"""

import os

RLMREC_NAMES = ("amazon-book", "yelp", "steam")

_HOW_TO_IMPORT = {
    "steam": "python -m recbole_darec.datasets steam --splits RLMREC_STEAM_DIR --games steam_games.json.gz --out {out}",
}
_DEFAULT_HOW_TO_IMPORT = "python -m recbole_darec.datasets rlmrec --src DIR_WITH_TRN_VAL_TST_MAT_PKL --name {name} --out {out}"


def check_dataset_folder(name, dataset_path, benchmark_filename):
    r"""Raise a clear error where RecBole would download or fail obscurely; else return None."""
    if name in RLMREC_NAMES and not os.path.isdir(dataset_path):
        command = _HOW_TO_IMPORT.get(name, _DEFAULT_HOW_TO_IMPORT).format(
            name=name, out=os.path.dirname(os.path.normpath(dataset_path)) or ".")
        raise FileNotFoundError(
            f"dataset {name!r}: {dataset_path} does not exist. recbole-darec's {name!r} is RLMRec's "
            f"split, which you import yourself (RecBole would otherwise download its own, different "
            f"{name!r} and train on it):\n    {command}\nthen train with "
            f"config_file_list=['properties/rlmrec.yaml'] (docs/datasets.md)."
        )
    if benchmark_filename is None and os.path.isdir(dataset_path):
        if not os.path.isfile(os.path.join(dataset_path, f"{name}.inter")):
            split_files = sorted(f for f in os.listdir(dataset_path)
                                 if f.startswith(f"{name}.") and f.endswith(".inter"))
            if split_files:
                parts = [f[len(name) + 1: -len(".inter")] for f in split_files]
                raise ValueError(
                    f"dataset {name!r}: {dataset_path} holds pre-split files ({', '.join(split_files)}) "
                    f"but no {name}.inter; set the config key benchmark_filename (e.g. {parts}, in "
                    f"train, valid, test order: properties/rlmrec.yaml sets [train, valid, test])."
                )


def guard_dataset_loading():
    from recbole.data.dataset import Dataset

    original = Dataset._load_data
    if getattr(original, "_recbole_darec", False):
        return

    def _load_data(self, token, dataset_path):
        check_dataset_folder(token, dataset_path, self.benchmark_filename_list)
        return original(self, token, dataset_path)

    _load_data._recbole_darec = True
    Dataset._load_data = _load_data
