r"""Markdown tables made from a runs file (``<output>.runs.csv`` of ``compare.py``), for the docs'
generated blocks (:mod:`.pages`): each number comes from the runs, none is typed by hand.

* ``variants``: chosen variants' R@20 / N@20 (mean ± std over the seeds) and their relative
  difference, with the paired t-test's p, against chosen reference variants.
* ``ablation``: DaRec's ablations on one backbone against full DaRec, the backbone and Con.
* ``pairs``: one method against its backbone in several grids (each row from its own runs file).
* ``means``: several methods side by side in several grids (means only) with chosen differences.
* ``published``: our runs against the row of RLMRec's Table 1 each reproduces.
* ``controls``: the shuffled-vector control of several methods (each row from its own runs file).
* ``validation``: a sweep's best validation score per variant, with the epoch it came at: what a
  setting is chosen on (the test metrics of a sweep stay unread).
"""

import argparse
import os
import shlex

from recbole_darec.experiments.runs import one_per_seed, read_runs
from recbole_darec.experiments.stats import fmt_mean_std, paired_t_test

METRICS = ("recall@20", "ndcg@20")
ABLATIONS = ("no_disentangle", "no_uniformity", "no_orthogonal", "no_local", "no_global", "hungarian")


class TableError(ValueError):
    r"""A table's directive names runs that are not there, or not unambiguously."""


def _labelled(pairs, known):
    r"""``LABEL=VARIANT`` or a bare ``VARIANT`` (its own label) -> [(label, variant)]. A variant's
    settings hold '=' too (``darec:darec_weight=0.1``): a word that is a variant of the runs
    (``known``, with or without ``@SETTING``) is bare, anything else is split at its first '='."""
    found = []
    for pair in pairs:
        if pair.partition("@")[0] in known or "=" not in pair:
            found.append((pair, pair))
        else:
            label, _, variant = pair.partition("=")
            found.append((label, variant))
    return found


class Runs:
    r"""The runs of one dataset and backbone in a runs file, by variant and seed."""

    def __init__(self, path, dataset, backbone, seeds):
        self.path, self.seeds = path, list(seeds)
        # demo.py's and reproduce.py's files have no backbone or variant column: there the model
        # names the variant. demo.py's have no dataset column either; its file is named after the
        # dataset (<dataset>-demo), so a directive naming another dataset is refused by the name.
        found = read_runs(path)
        if found and "dataset" not in found[0] and dataset not in os.path.basename(path):
            raise TableError(f"{path}: has no dataset column and its name does not say {dataset}: "
                             f"which dataset its runs are on is unknown")
        rows = [{"setting": "", **r, "variant": r.get("variant") or r["model"]} for r in found
                if r.get("dataset", dataset) == dataset and backbone in (None, r.get("backbone", backbone))]
        if not rows:
            raise TableError(f"{path}: no run of backbone {backbone} on {dataset}")
        self.rows = rows
        self.variants = {r["variant"] for r in rows}

    def values(self, variant, metric):
        r"""``metric`` of ``variant``'s run on each seed, in seed order. A variant whose runs were made
        under two settings (a re-measure beside the old runs) is named ``VARIANT@SETTING``."""
        name, _, setting = variant.partition("@")
        mine = [r for r in self.rows if r["variant"] == name and (not setting or r["setting"] == setting)]
        settings = sorted({r["setting"] for r in mine if r["seed"] in self.seeds})
        if len(settings) > 1:
            raise TableError(f"{self.path}: {name} has runs of settings {settings}; name one as {name}@SETTING")
        by_seed = {r["seed"]: r for r in one_per_seed([r for r in mine if r["seed"] in self.seeds])}
        missing = [seed for seed in self.seeds if seed not in by_seed]
        if missing:
            raise TableError(f"{self.path}: {variant} has no run for seeds {missing}")
        return [by_seed[seed][metric] for seed in self.seeds]

    def run(self, variant, seed):
        r"""The row of ``variant``'s run on ``seed`` (one setting, as :meth:`values` asks)."""
        self.values(variant, "best_valid")
        name, _, setting = variant.partition("@")
        return next(r for r in self.rows if r["variant"] == name and r["seed"] == seed
                    and (not setting or r["setting"] == setting))

    def cell(self, variant):
        return " / ".join(fmt_mean_std(self.values(variant, m)) for m in METRICS)

    def against(self, variant, other):
        r"""``+d% (p) / +d% (p)``: R@20 and N@20 of ``variant`` relative to ``other``."""
        parts = []
        for metric in METRICS:
            mine, theirs = self.values(variant, metric), self.values(other, metric)
            mean_theirs = sum(theirs) / len(theirs)
            change = (sum(mine) / len(mine) - mean_theirs) / mean_theirs
            p = paired_t_test(mine, theirs)
            parts.append(f"{100 * change:+.1f}% ({format_p(p)})".replace("-", "−"))
        return " / ".join(parts)


def format_p(p):
    r"""``p 0.034``, ``p < 0.001``, or ``p n/a`` (fewer than two seeds)."""
    if p is None:
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p {p:.3f}"


def _common(parser):
    parser.add_argument("--runs", required=True, help="a compare.py runs file")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--backbone", default="LightGCN")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])


def variants_table(argv):
    parser = argparse.ArgumentParser(prog="variants")
    _common(parser)
    parser.add_argument("--rows", nargs="+", required=True, metavar="LABEL=VARIANT")
    parser.add_argument("--against", nargs="+", default=[], metavar="LABEL=VARIANT")
    args = parser.parse_args(argv)
    runs = Runs(args.runs, args.dataset, args.backbone, args.seeds)
    references = _labelled(args.against, runs.variants)
    lines = ["| | R@20 / N@20 | " + " | ".join(f"vs {label} (p)" for label, _ in references) + " |",
             "|---" * (2 + len(references)) + "|"]
    for label, variant in _labelled(args.rows, runs.variants):
        cells = [runs.cell(variant)] + ["" if other == variant else runs.against(variant, other)
                                        for _, other in references]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ablation_table(argv):
    parser = argparse.ArgumentParser(prog="ablation")
    _common(parser)
    parser.add_argument("--base", default="base")
    parser.add_argument("--con", default="con:con_negatives=batch")
    parser.add_argument("--full", default="darec:darec_interval=10")
    args = parser.parse_args(argv)
    runs = Runs(args.runs, args.dataset, args.backbone, args.seeds)
    own = args.full.partition(":")[2]
    lines = [f"| {args.backbone} on {args.dataset} | R@20 / N@20 | vs full DaRec | vs {args.backbone} | vs Con |",
             "|---|---|---|---|---|"]
    present = {r["variant"] for r in runs.rows}
    for name in ABLATIONS:
        variant = f"{name}:{own}" if own else name
        if variant in present:
            lines.append(f"| {name} | {runs.cell(variant)} | {runs.against(variant, args.full)} | "
                         f"{runs.against(variant, args.base)} | {runs.against(variant, args.con)} |")
    return "\n".join(lines)


def validation_table(argv):
    parser = argparse.ArgumentParser(prog="validation")
    _common(parser)
    parser.add_argument("--rows", nargs="+", required=True, metavar="LABEL=VARIANT")
    parser.add_argument("--metric", default="N@20", help="how the header names the validation metric")
    args = parser.parse_args(argv)
    runs = Runs(args.runs, args.dataset, args.backbone, args.seeds)
    seeds = ", ".join(map(str, args.seeds))
    lines = [f"| setting | best validation {args.metric}, seed {seeds} (epoch of epochs trained) |", "|---|---|"]
    for label, variant in _labelled(args.rows, runs.variants):
        cells = []
        for seed in args.seeds:
            run = runs.run(variant, seed)
            epochs = f" ({run['best_epoch']} of {run['epochs']})" if "best_epoch" in run and "epochs" in run else ""
            cells.append(f"{run['best_valid']:.4f}{epochs}")
        lines.append(f"| {label} | " + "; ".join(cells) + " |")
    return "\n".join(lines)


def controls_table(argv):
    r"""The shuffled-vector control of several methods, each from its own runs file: real against
    shuffled vectors (what the text's meaning adds) and shuffled against the backbone."""
    parser = argparse.ArgumentParser(prog="controls")
    parser.add_argument("--row", nargs=7, action="append", required=True,
                        metavar=("LABEL", "RUNS", "DATASET", "BACKBONE", "REAL", "SHUFFLED", "BASE"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    lines = ["| | real vectors R@20 / N@20 | shuffled vectors | real vs shuffled (p) | shuffled vs backbone (p) |",
             "|---|---|---|---|---|"]
    for label, path, dataset, backbone, real, shuffled, base in args.row:
        runs = Runs(path, dataset, backbone, args.seeds)
        lines.append(f"| {label} | {runs.cell(real)} | {runs.cell(shuffled)} | {runs.against(real, shuffled)} | "
                     f"{runs.against(shuffled, base)} |")
    return "\n".join(lines)


def pairs_table(argv):
    r"""One method against its backbone in several grids, each row from its own runs file."""
    parser = argparse.ArgumentParser(prog="pairs")
    parser.add_argument("--row", nargs=6, action="append", required=True,
                        metavar=("LABEL", "RUNS", "DATASET", "BACKBONE", "BASE", "OURS"))
    parser.add_argument("--name", default="DaRec", help="how the header names the method")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    lines = [f"| dataset, backbone | backbone R@20 / N@20 | {args.name} | {args.name} vs backbone (p) |",
             "|---|---|---|---|"]
    for label, path, dataset, backbone, base, ours in args.row:
        runs = Runs(path, dataset, backbone, args.seeds)
        lines.append(f"| {label} | {runs.cell(base)} | {runs.cell(ours)} | {runs.against(ours, base)} |")
    return "\n".join(lines)


def means_table(argv):
    r"""Several methods side by side in several grids, means only (R@20 / N@20), with chosen
    differences between them; each row from its own runs file."""
    parser = argparse.ArgumentParser(prog="means")
    parser.add_argument("--columns", nargs="+", required=True, metavar="NAME")
    parser.add_argument("--compare", nargs="*", default=[], metavar="A:B",
                        help="A against B, by column name (one column of differences each)")
    parser.add_argument("--row", nargs="+", action="append", required=True,
                        metavar="LABEL RUNS DATASET BACKBONE VARIANT")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    pairs = [pair.split(":", 1) for pair in args.compare]
    unknown = [name for pair in pairs for name in pair if name not in args.columns] + [
        pair for pair in args.compare if ":" not in pair]
    if unknown:
        raise TableError(f"--compare names {unknown}: expected A:B of the columns {args.columns}")
    lines = ["| | " + " | ".join(args.columns) + " | " + " | ".join(f"{a} vs {b} (p)" for a, b in pairs) + " |",
             "|---" * (1 + len(args.columns) + len(pairs)) + "|"]
    for row in args.row:
        if len(row) != 4 + len(args.columns):
            raise TableError(f"--row {row[:1]}: expected LABEL RUNS DATASET BACKBONE and one variant per column "
                             f"({len(args.columns)}), got {len(row) - 4} variants")
        label, path, dataset, backbone, *variants = row
        runs, named = Runs(path, dataset, backbone, args.seeds), dict(zip(args.columns, variants))
        means = [" / ".join(f"{sum(v) / len(v):.4f}" for v in (runs.values(variant, m) for m in METRICS))
                 for variant in variants]
        lines.append(f"| {label} | " + " | ".join(means + [runs.against(named[a], named[b]) for a, b in pairs]) + " |")
    return "\n".join(lines)


def published_table(argv):
    r"""Our runs against the row of RLMRec's Table 1 each reproduces, each row from its own runs file."""
    from recbole_darec.experiments.reproduce import read_published

    parser = argparse.ArgumentParser(prog="published")
    parser.add_argument("--row", nargs=5, action="append", required=True,
                        metavar=("LABEL", "RUNS", "DATASET", "VARIANT", "PUBLISHED_MODEL"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    published = read_published()
    lines = ["| | dataset | test R@20 | test N@20 | published R@20 / N@20 | difference |", "|---|---|---|---|---|---|"]
    for label, path, dataset, variant, model in args.row:
        if (model, dataset) not in published:
            raise TableError(f"RLMRec's Table 1 has no row {model} on {dataset}")
        theirs = published[(model, dataset)]
        runs = Runs(path, dataset, None, args.seeds)
        ours = {m: runs.values(variant, m) for m in METRICS}
        cells = [fmt_mean_std(ours[m]) if len(args.seeds) > 1 else f"{ours[m][0]:.4f}" for m in METRICS]
        changes = [f"{100 * (sum(ours[m]) / len(ours[m]) / theirs[m] - 1):+.1f}%".replace("-", "−") for m in METRICS]
        lines.append(f"| {label} | {dataset} | {cells[0]} | {cells[1]} | "
                     f"{theirs['recall@20']:.4f} / {theirs['ndcg@20']:.4f} | {' / '.join(changes)} |")
    return "\n".join(lines)


TABLES = {"variants": variants_table, "ablation": ablation_table, "validation": validation_table,
          "pairs": pairs_table, "means": means_table, "published": published_table, "controls": controls_table}


def make_table(directive):
    r"""The table a directive (``variants --runs ...``) names."""
    words = shlex.split(directive)
    if not words or words[0] not in TABLES:
        raise TableError(f"unknown table {words[:1]}: expected one of {sorted(TABLES)}")
    return TABLES[words[0]](words[1:])
