r"""How much ranking signal do the LLM vectors carry on their own? (RLMRec's "SemOnly" row.)

    .venv/bin/python run_scripts/semonly.py [--dataset ml-100k] [--config_files properties/ml-100k-demo.yaml] [--seeds 1 2 3]

Scores every item for every user by the dot product of their (L2-normalised) LLM vectors, with
no training, and evaluates it with RecBole's own evaluator on the same split, masking and metrics
as the demo: LightGCN's ``full_sort_predict`` is fed the LLM tables as its cached embeddings.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The working tree's recbole_darec, not an older installed copy (a script's own folder,
# not the working directory, heads sys.path).
sys.path.insert(0, REPO)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--config_files", nargs="+", default=[os.path.join(REPO, "properties", "ml-100k-demo.yaml")])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    sys.argv = sys.argv[:1]
    os.chdir(REPO)

    from recbole.utils import get_trainer

    from recbole_darec.experiments.build import build
    from recbole_darec.experiments.stats import fmt_mean_std
    from recbole_darec.experiments.vectors import ensure_split_vectors

    results = []
    for seed in args.seeds:
        ensure_split_vectors(args.dataset, "DaRecLightGCN", args.config_files, seed)
        config, _, (train, _, test), model = build("DaRecLightGCN", args.dataset, args.config_files,
                                                   {"seed": seed, "state": "ERROR"}, train_mode=False)
        vectors = train._dataset.llm_vectors
        model.restore_user_e, model.restore_item_e = vectors[: model.n_users], vectors[model.n_users:]
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        result = trainer.evaluate(test, load_best_model=False)
        results.append(result)
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()), flush=True)
    print(f"\nSemOnly on {args.dataset} (test split, seeds {args.seeds})\n")
    print("| metric | mean ± std |\n|---|---|")
    for key in results[0]:
        print(f"| {key} | {fmt_mean_std([r[key] for r in results])} |")


if __name__ == "__main__":
    main()
