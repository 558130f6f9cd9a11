r"""How strongly each SimGCL loss term pulls on the embeddings at initialisation.

    .venv/bin/python run_scripts/simgcl_gradients.py [--dataset ml-100k]
        [--config_files properties/ml-100k-demo.yaml] [--seeds 1 2 3] [--key=value ...]

Builds SimGCL exactly as ``run_recbole`` does, takes the first training batch and prints, per
seed, the median row norm of the clean propagated embeddings and the gradient norm that the BPR
and the contrastive terms put on the user embedding table. Adam follows the larger one: when the
contrastive gradient is thousands of times BPR's, the ranking is not learned (docs/models.md).
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--config_files", nargs="+", default=[os.path.join(REPO, "properties", "ml-100k-demo.yaml")])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args, extra = parser.parse_known_args()
    overrides = dict(arg[2:].split("=", 1) for arg in extra if arg.startswith("--") and "=" in arg)
    sys.argv = sys.argv[:1]
    os.chdir(REPO)

    from recbole_darec.experiments.build import build

    print("| seed | cl_weight | include_ego | median row norm | BPR grad | CL grad | CL / BPR |")
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        config, _, (train, _, _), model = build("SimGCL", args.dataset, args.config_files,
                                                {**overrides, "seed": seed, "state": "ERROR"})
        batch = next(iter(train))
        users, items = model.forward()
        norm = users.detach().norm(dim=1).median().item()
        bpr_reg, cl = model.calculate_loss(batch)
        grads = []
        for term in (bpr_reg, cl):
            model.zero_grad()
            term.sum().backward(retain_graph=True)
            grads.append(model.user_embedding.weight.grad.norm().item())
        print(f"| {seed} | {model.cl_weight} | {model.include_ego} | {norm:.4f} | {grads[0]:.2e} | "
              f"{grads[1]:.2e} | {grads[1] / grads[0]:.0f} |")


if __name__ == "__main__":
    main()
