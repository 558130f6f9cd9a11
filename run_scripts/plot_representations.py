r"""A DaRec checkpoint's shared and specific representations, drawn in 2-D (as the paper's figure).

    .venv/bin/python run_scripts/plot_representations.py --model-file saved/DaRecLightGCN-....pth
        [--rows 1000] [--method tsne|pca] [--seed 0] [--output docs/img/representations.png]

Takes ``--rows`` users and items at random (the [PAD] rows never), computes their four parts,
f^C_sh(E^C), f^C_sp(E^C), f^L_sh(E^L) and f^L_sp(E^L) (E^C the model's clean propagation, E^L
its language vectors), embeds the 4 x rows points together with t-SNE (or PCA) and colours them
by side and part. If the disentangling worked, the two shared clouds overlap and each specific
cloud sits apart.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

PARTS = (("cf_shared", "collaborative, shared"), ("cf_specific", "collaborative, specific"),
         ("llm_shared", "language, shared"), ("llm_specific", "language, specific"))


def parts(model, rows, seed=0):
    r"""``{part: (rows x d_s) array}`` for ``rows`` random users and items, and their kinds
    (``"user"`` / ``"item"``)."""
    import numpy as np
    import torch

    from recbole_darec.model.darec_recommender import DaRecRecommender

    if not isinstance(model, DaRecRecommender):
        raise SystemExit(f"--model-file: a {type(model).__name__} checkpoint; this draws a DaRec model's parts")
    if not model.darec.disentangle:
        raise SystemExit("--model-file: trained with darec_disentangle: False, so it has no specific parts")
    model.eval()
    with torch.no_grad():
        users, items = model.clean_tables()
        cf = torch.cat([users, items])
        candidates = model.alignable_rows.cpu().numpy()
        pick = np.random.default_rng(seed).choice(candidates, size=min(rows, len(candidates)), replace=False)
        pick_t = torch.as_tensor(pick, device=cf.device)
        cf_rows, llm_rows = cf[pick_t], model.llm_vectors[pick_t]
        d = model.darec
        drawn = {"cf_shared": d.cf_shared(cf_rows), "cf_specific": d.cf_specific(cf_rows),
                 "llm_shared": d.llm_shared(llm_rows), "llm_specific": d.llm_specific(llm_rows)}
    kinds = np.where(pick < model.n_users, "user", "item")
    return {name: value.cpu().numpy() for name, value in drawn.items()}, kinds


def embed_2d(points, method, seed):
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(points)
    return TSNE(n_components=2, init="pca", random_state=seed, perplexity=min(30, len(points) // 4)).fit_transform(points)


def draw(drawn, kinds, method, seed, output, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.preprocessing import normalize

    # Cosine geometry, as the alignment terms see it: rows are L2-normalised first.
    stacked = np.concatenate([normalize(drawn[name]) for name, _ in PARTS])
    xy = embed_2d(stacked, method, seed)
    n = len(kinds)
    figure, axis = plt.subplots(figsize=(6.4, 5.6))
    for index, (name, label) in enumerate(PARTS):
        block = xy[index * n:(index + 1) * n]
        for kind, marker in (("user", "o"), ("item", "^")):
            mine = block[kinds == kind]
            axis.scatter(mine[:, 0], mine[:, 1], s=6, marker=marker, alpha=0.6,
                         color=f"C{index}", label=f"{label} ({kind}s)")
    axis.set_title(title, fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(fontsize=7, markerscale=2, loc="best")
    figure.tight_layout()
    from recbole_darec.files import save_figure

    save_figure(figure, output)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-file", required=True)
    parser.add_argument("--rows", type=int, default=1000, help="users and items drawn (default 1000)")
    parser.add_argument("--method", choices=("tsne", "pca"), default="tsne")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=os.path.join("docs", "img", "representations.png"))
    args = parser.parse_args(argv)
    sys.argv = sys.argv[:1]
    from recbole_darec.recommend import load_checkpoint

    _, model, dataset, *_ = load_checkpoint(args.model_file)
    drawn, kinds = parts(model, args.rows, args.seed)
    title = (f"{type(model).__name__} on {dataset.dataset_name}: {len(kinds)} users and items, "
             f"{args.method.upper() if args.method == 'pca' else 't-SNE'}")
    draw(drawn, kinds, args.method, args.seed, args.output, title)
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
