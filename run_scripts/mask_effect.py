r"""What the test-time mask changes: one trained model, tested under RLMRec's and RecBole's rule.

    .venv/bin/python run_scripts/mask_effect.py [--model LightGCN] [--dataset amazon-book]
        [--seeds 1] [--config_files properties/rlmrec.yaml] [--key=value ...]

Per seed: trains once with RecBole (early stopping on validation, which both rules mask alike),
then tests the best checkpoint twice: ``test_history: train`` (RLMRec masks only each user's
training items) and ``train_valid`` (RecBole also masks the validation items). Prints a markdown
table with RLMRec's published number where there is one (docs/datasets.md).
"""

import argparse
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # this checkout's package

from recbole_darec.experiments.reproduce import read_published  # noqa: E402


def test_under_both_rules(model_name, dataset, seed, config_files, overrides):
    from recbole.quick_start import run_recbole
    from recbole.utils import get_trainer

    from recbole_darec.experiments.build import build
    from recbole_darec.experiments.vectors import ensure_split_vectors

    checkpoint_dir = tempfile.mkdtemp(prefix="mask-effect-")
    base = {**overrides, "seed": seed, "state": "WARNING", "checkpoint_dir": checkpoint_dir}
    ensure_split_vectors(dataset, model_name, config_files, seed, overrides)
    trained = run_recbole(model=model_name, dataset=dataset, config_file_list=config_files,
                          config_dict={**base, "test_history": "train"})
    (checkpoint,) = [os.path.join(checkpoint_dir, f) for f in os.listdir(checkpoint_dir)]
    results = {"train": trained["test_result"]}
    # Built on the training split, as run_recbole builds it: a graph model built on the test split
    # would propagate over the test edges it is tested on.
    config, _, (_, _, test_data), model = build(model_name, dataset, config_files,
                                                {**base, "test_history": "train_valid"}, train_mode=False)
    trainer = get_trainer(config["MODEL_TYPE"], model_name)(config, model)
    results["train_valid"] = trainer.evaluate(test_data, load_best_model=True, model_file=checkpoint)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="LightGCN")
    parser.add_argument("--dataset", default="amazon-book")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--config_files", nargs="+", default=[os.path.join(REPO, "properties", "rlmrec.yaml")])
    args, extra = parser.parse_known_args()
    overrides = dict(arg[2:].split("=", 1) for arg in extra if arg.startswith("--") and "=" in arg)
    sys.argv = sys.argv[:1]
    config_files = [os.path.abspath(f) for f in args.config_files]
    os.chdir(REPO)
    published = read_published().get((args.model, args.dataset), {})
    rows = []
    for seed in args.seeds:
        results = test_under_both_rules(args.model, args.dataset, seed, config_files, overrides)
        for rule, metrics in results.items():
            rows.append((seed, rule, metrics))
    metrics = list(rows[0][2])
    print(f"| {args.model} on {args.dataset} | seed | " + " | ".join(metrics) + " |")
    print("|---" * (len(metrics) + 2) + "|")
    for seed, rule, values in rows:
        label = {"train": "RLMRec's rule (train items masked)", "train_valid": "RecBole's rule (train + valid masked)"}[rule]
        print(f"| {label} | {seed} | " + " | ".join(f"{values[m]:.4f}" for m in metrics) + " |")
    if published:
        print("| RLMRec's published | - | " + " | ".join(f"{published.get(m, float('nan')):.4f}" for m in metrics) + " |")


if __name__ == "__main__":
    main()
