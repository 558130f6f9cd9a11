r"""A run's training curves, drawn from what it logged: every loss term and the validation score by epoch.

    .venv/bin/python run_scripts/plot_training.py --run log_tensorboard/DaRecLightGCN-ml-100k-...
        [--output docs/img/training.png]

RecBole writes a TensorBoard log per run (``log_tensorboard/<model>-<dataset>-<time>/``); our
trainer adds one curve per loss term (``Loss/Train/<term>``: ``bpr_reg``, DaRec's ``orthogonal``,
``uniformity``, ``global``, ``local``, Con's ``con``, Gen's ``gen``). One panel per term, then the
validation score (RecBole's tag ``Vaild_score``: the ``valid_metric``, e.g. NDCG@20) at each
evaluation.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

VALID_TAG = "Vaild_score"  # sic: RecBole's spelling


def read_curves(run):
    r"""``{name: (steps, values)}``: each ``Loss/Train/<term>`` and the validation score."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not os.path.isdir(run):
        raise SystemExit(f"--run {run}: no such folder (RecBole writes log_tensorboard/<model>-<dataset>-<time>/)")
    accumulator = EventAccumulator(run, size_guidance={"scalars": 0})
    accumulator.Reload()
    tags = accumulator.Tags().get("scalars", [])
    terms = [tag for tag in tags if tag.startswith("Loss/Train/")] or [tag for tag in tags if tag == "Loss/Train"]
    if not terms:
        raise SystemExit(f"--run {run}: no training loss logged (tags: {tags})")
    curves = {}
    for tag in terms + ([VALID_TAG] if VALID_TAG in tags else []):
        events = accumulator.Scalars(tag)
        name = "validation score" if tag == VALID_TAG else tag.rsplit("/", 1)[-1]
        curves[name] = ([e.step for e in events], [e.value for e in events])
    return curves


def draw(curves, title, output):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, len(curves))
    rows = -(-len(curves) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.6 * rows), squeeze=False)
    for axis, (name, (steps, values)) in zip(axes.flat, curves.items()):
        axis.plot(steps, values, marker="o" if name == "validation score" else None, markersize=3)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("epoch", fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(curves):]:
        axis.axis("off")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    from recbole_darec.files import save_figure

    save_figure(figure, output)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a log_tensorboard/<model>-<dataset>-<time>/ folder")
    parser.add_argument("--output", default=os.path.join("docs", "img", "training.png"))
    args = parser.parse_args(argv)
    curves = read_curves(args.run)
    draw(curves, os.path.basename(os.path.normpath(args.run)), args.output)
    print(f"written: {args.output} ({', '.join(curves)})")


if __name__ == "__main__":
    sys.exit(main())
