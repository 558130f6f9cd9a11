r"""Convert real benchmark data into RecBole atomic files.

    python -m recbole_darec.datasets rlmrec --src DIR --name NAME [--out dataset] [--force]
    python -m recbole_darec.datasets steam --splits DIR --games FILE [--out dataset] [--seed 2024] [--force]
    python -m recbole_darec.datasets cold --dataset NAME [--data_path DIR] --item-ratio 0.2 --seed 2024
        [--name NAME-cold] [--out dataset] [--force]

``rlmrec``: RLMRec's ``trn_mat.pkl`` / ``val_mat.pkl`` / ``tst_mat.pkl`` (and, when present, its
``usr_emb_np.pkl`` / ``itm_emb_np.pkl`` vectors and ``usr_prf.pkl`` / ``itm_prf.pkl`` profiles)
into ``OUT/NAME/``, to be trained with ``properties/rlmrec.yaml`` (docs/datasets.md).

``steam``: RLMRec's Steam validation + test pairs (its public release has no training split)
re-split 3:1:1 per user with a fixed seed (NOT the paper's split), with the games' text from
``steam_games.json.gz`` in ``OUT/steam/steam.item``.

``cold``: a cold-start split of an atomic dataset: a seeded share of the items has no training
interaction (:mod:`recbole_darec.datasets.cold`, docs/cold-start.md).
"""

import argparse
import sys

from recbole_darec.datasets import DatasetImportError, build_steam, import_rlmrec
from recbole_darec.datasets.cold import build_cold
from recbole_darec.datasets.steam import DEFAULT_SEED


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recbole_darec.datasets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    rlmrec = commands.add_parser("rlmrec", help="import RLMRec's processed splits")
    rlmrec.add_argument("--src", required=True, help="folder with trn_mat.pkl, val_mat.pkl, tst_mat.pkl")
    rlmrec.add_argument("--name", required=True, help="dataset name, e.g. amazon-book, yelp")
    rlmrec.add_argument("--out", default="dataset", help="RecBole's data_path (default: dataset)")
    rlmrec.add_argument("--force", action="store_true", help="replace an existing OUT/NAME")
    steam = commands.add_parser("steam", help="build Steam from RLMRec's val/test pairs and the game metadata")
    steam.add_argument("--splits", required=True, help="RLMRec's steam folder: val_mat.pkl, tst_mat.pkl, item_mapper.json")
    steam.add_argument("--games", required=True, help="steam_games.json.gz (Kang & McAuley)")
    steam.add_argument("--out", default="dataset", help="RecBole's data_path (default: dataset)")
    steam.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the 3:1:1 re-split")
    steam.add_argument("--force", action="store_true", help="replace an existing OUT/steam")
    cold = commands.add_parser("cold", help="a cold-start split: a share of the items has no training interaction")
    cold.add_argument("--dataset", required=True, help="the source dataset's name")
    cold.add_argument("--data_path", "--data-path", default=None,
                      help="folder holding the source's folder (default: dataset/, else RecBole's bundled copy)")
    cold.add_argument("--item-ratio", type=float, default=0.2, help="share of the items made cold")
    cold.add_argument("--seed", type=int, default=2024, help="seed of the cold items and of every split")
    cold.add_argument("--name", default=None, help="the new dataset's name (default: NAME-cold)")
    cold.add_argument("--out", default="dataset", help="RecBole's data_path for the new dataset (default: dataset)")
    cold.add_argument("--force", action="store_true", help="replace an existing OUT/NAME-cold")
    args = parser.parse_args(argv)
    try:
        if args.command == "rlmrec":
            target = import_rlmrec(args.src, args.name, out=args.out, force=args.force)
        elif args.command == "cold":
            target, summary = build_cold(args.dataset, args.item_ratio, args.seed, name=args.name,
                                         data_path=args.data_path, out=args.out, force=args.force)
            print(", ".join(f"{key} {value}" for key, value in summary.items()))
        else:
            target, summary = build_steam(args.splits, args.games, out=args.out, seed=args.seed, force=args.force)
            print(", ".join(f"{key} {value}" for key, value in summary.items()))
    except DatasetImportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"written: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
