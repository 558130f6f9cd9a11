r"""Does the alignment loss care which collaborative vector belongs to which user? A diagnostic.

    .venv/bin/python run_scripts/alignment_floor.py [--dataset ml-100k] [--config_files properties/ml-100k-demo.yaml]
        [--seeds 1 2 3] [--steps 1000] [--output results/alignment-floor]

An alignment term can only teach the collaborative model something if its value depends on the
collaborative vectors E^C: if the trainable projectors alone can drive it as low for E^C that
contradict the text as for E^C that agree with it, its gradient at the fitted projectors carries
no preference for either. This script trains LightGCN (the demo's setting, early stopping on
validation), freezes its propagated tables, and fits, from fresh initialisations, only the
alignment's own parameters for ``--steps`` Adam steps on every user and item:

* DaRec's four projectors on L_or + L_uni + L_glo + L_loc (the model's defaults);
* RLMRec-Con's mapping MLP on its InfoNCE (each user against all users, each item against all
  items, at ``con_tau``).

against three versions of E^C: ``trained`` (LightGCN's rows on their own ids), ``permuted``
(the same rows given to other users and other items: E^C with the same distribution that the
text no longer describes) and ``random`` (Gaussian rows of the same overall scale). The floor is
the loss (and each term) averaged over the last 10% of steps; the table gives each floor and the gap
``permuted - trained``: a term that prefers the E^C matching the text has a positive gap.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # this checkout's package

from recbole_darec.experiments.stats import fmt_mean_std  # noqa: E402

CONDITIONS = ("trained", "permuted", "random")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--config_files", nargs="+", default=[os.path.join(REPO, "properties", "ml-100k-demo.yaml")])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=1000, help="Adam steps fitting the alignment's parameters")
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=None, help="cap LightGCN's training (default: the config's)")
    parser.add_argument("--output", default=os.path.join("results", "alignment-floor"))
    args = parser.parse_args(argv)
    if args.steps < 10:
        parser.error("--steps must be >= 10")
    return args


def trained_tables(config, train_data, valid_data):
    r"""LightGCN's propagated (user, item) tables after RecBole's training with early stopping."""
    import torch
    from recbole.model.general_recommender import LightGCN
    from recbole.utils import get_trainer, init_seed

    init_seed(config["seed"], config["reproducibility"])
    model = LightGCN(config, train_data._dataset)
    trainer = get_trainer(config["MODEL_TYPE"], "LightGCN")(config, model)
    trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    model.load_state_dict(torch.load(trainer.saved_model_file, map_location="cpu", weights_only=False)["state_dict"])
    shutil.rmtree(config["checkpoint_dir"], ignore_errors=True)
    model.eval()
    with torch.no_grad():
        return model.forward()


def collaborative_versions(user_table, item_table, seed):
    r"""{condition: (user rows, item rows)} without the [PAD] rows."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    users, items = user_table[1:], item_table[1:]
    scale = torch.cat([users, items]).std()
    return {
        "trained": (users, items),
        "permuted": (users[torch.randperm(len(users), generator=generator)],
                     items[torch.randperm(len(items), generator=generator)]),
        "random": (scale * torch.randn(users.shape, generator=generator),
                   scale * torch.randn(items.shape, generator=generator)),
    }


def fit_floor(terms_of, parameters, steps, learning_rate):
    r"""{term: its mean over the last 10% of ``steps`` Adam steps on ``parameters``} for the dict of
    loss terms ``terms_of()`` returns, their sum minimised; the total under ``"total"``."""
    import torch

    optimizer = torch.optim.Adam(parameters, lr=learning_rate)
    tail = {}
    for step in range(steps):
        optimizer.zero_grad()
        terms = terms_of()
        loss = sum(terms.values())
        loss.backward()
        optimizer.step()
        if step >= steps - max(1, steps // 10):
            for name, value in {"total": loss, **terms}.items():
                tail.setdefault(name, []).append(value.item())
    return {name: statistics.mean(values) for name, values in tail.items()}


def floors(config, llm_users, llm_items, cf_users, cf_items, steps, learning_rate, seed):
    r"""{"darec": DaRec's floor, "darec_<term>": each of its terms at that floor, "darec_alignment":
    global + local there, "con": Con's floor}."""
    import torch

    from recbole_darec.model.contrastive import info_nce, own_rows
    from recbole_darec.model.darec_objective import DaRecObjective
    from recbole_darec.model.rlmrec_alignment import mapping_mlp
    from recbole_darec.model.rlmrec_con_recommender import RLMRecConRecommender
    from recbole_darec.registry import model_defaults

    cf_rows, llm_rows = torch.cat([cf_users, cf_items]), torch.cat([llm_users, llm_items])
    torch.manual_seed(seed)
    objective = DaRecObjective(config, cf_dim=cf_rows.shape[1], llm_dim=llm_rows.shape[1])
    darec = fit_floor(lambda: objective(cf_rows, llm_rows), objective.parameters(), steps, learning_rate)
    result = {"darec" if name == "total" else f"darec_{name}": value for name, value in darec.items()}
    # The two terms that compare the sides; L_or and L_uni shape each side on its own.
    result["darec_alignment"] = result.get("darec_global", 0.0) + result.get("darec_local", 0.0)

    torch.manual_seed(seed)
    mlp = mapping_mlp(llm_rows.shape[1], cf_rows.shape[1])
    tau = float(config["con_tau"] or model_defaults(RLMRecConRecommender)["con_tau"])

    def con_terms():
        return {"con": info_nce(cf_users, mlp(llm_users), own_rows(cf_users), tau)
                + info_nce(cf_items, mlp(llm_items), own_rows(cf_items), tau)}

    result["con"] = fit_floor(con_terms, mlp.parameters(), steps, learning_rate)["con"]
    return result


def report(args, by_seed, command):
    lines = [f"# Alignment floors on {args.dataset}: does the loss prefer the E^C that the text describes?", "",
             f"Command: `{command}`", "",
             f"Seeds: {args.seeds}. LightGCN trained with {', '.join(os.path.relpath(f, REPO) for f in args.config_files)}; "
             f"then {args.steps} Adam steps (lr {args.learning_rate}) on the alignment's own parameters only, "
             "E^C frozen. Floor: mean loss over the last 10% of steps; mean ± std over seeds.", "",
             "| loss | " + " | ".join(CONDITIONS) + " | gap permuted − trained | gap / trained |",
             "|---|" + "---|" * (len(CONDITIONS) + 2)]
    names = list(by_seed[0]["trained"])
    for name in names:
        cells = []
        for condition in CONDITIONS:
            values = [run[condition][name] for run in by_seed]
            cells.append(fmt_mean_std(values))
        gaps = [run["permuted"][name] - run["trained"][name] for run in by_seed]
        relative = [gap / abs(run["trained"][name]) if run["trained"][name] else float("nan")
                    for gap, run in zip(gaps, by_seed)]
        label = {"darec": "DaRec (sum of its terms)", "darec_alignment": "DaRec global + local",
                 "con": "RLMRec-Con InfoNCE"}.get(
            name, "DaRec " + name.replace("darec_", ""))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {fmt_mean_std(gaps)} | "
                     f"{100 * statistics.mean(relative):+.1f}% |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    command = "python run_scripts/alignment_floor.py " + " ".join(sys.argv[1:] if argv is None else argv)
    sys.argv = sys.argv[:1]
    os.chdir(REPO)

    import recbole_darec  # noqa: F401
    from recbole_darec.files import atomic_write_text

    from recbole_darec.experiments.build import build
    from recbole_darec.experiments.vectors import ensure_split_vectors

    by_seed = []
    for seed in args.seeds:
        overrides = {"seed": seed, "state": "ERROR", "checkpoint_dir": tempfile.mkdtemp(prefix="floor-ckpt-")}
        if args.epochs:
            overrides["epochs"] = args.epochs
        ensure_split_vectors(args.dataset, "DaRecLightGCN", args.config_files, seed)
        config, _, (train_data, valid_data, _), _ = build("DaRecLightGCN", args.dataset, args.config_files, overrides)
        user_table, item_table = trained_tables(config, train_data, valid_data)
        vectors = train_data._dataset.llm_vectors
        n_users = user_table.shape[0]
        llm_users, llm_items = vectors[1:n_users], vectors[n_users + 1:]
        run = {}
        for condition, (cf_users, cf_items) in collaborative_versions(user_table, item_table, seed).items():
            run[condition] = floors(config, llm_users, llm_items, cf_users, cf_items,
                                    args.steps, args.learning_rate, seed)
            print(f"seed {seed} {condition}: " + ", ".join(f"{k} {v:.4f}" for k, v in run[condition].items()),
                  flush=True)
        by_seed.append(run)
    text = report(args, by_seed, command.strip())
    path = os.path.join(REPO, args.output + ".md")
    atomic_write_text(path, lambda f: f.write(text))
    print("\n" + text + f"\nwritten: {path}")


if __name__ == "__main__":
    main()
