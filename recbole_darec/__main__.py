r"""``python -m recbole_darec --model DaRecLightGCN --dataset NAME [--config_files ...] [--key=value ...]``

Mirrors RecBole's ``run_recbole.py``; ``--key=value`` pairs reach RecBole's Config as usual.
"""

import argparse

import recbole_darec  # noqa: F401  (registers our models)
from recbole.quick_start import run_recbole


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recbole_darec", description=__doc__)
    parser.add_argument("--model", "-m", type=str, default="DaRecLightGCN", help="model name")
    parser.add_argument("--dataset", "-d", type=str, default="ml-100k", help="dataset name")
    parser.add_argument("--config_files", type=str, default=None, help="space-separated yaml files")
    args, _ = parser.parse_known_args(argv)
    config_files = args.config_files.strip().split(" ") if args.config_files else None
    return run_recbole(model=args.model, dataset=args.dataset, config_file_list=config_files)


if __name__ == "__main__":
    main()
