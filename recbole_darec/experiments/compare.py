r"""DaRec's central claim, tested: base vs RLMRec-Con vs RLMRec-Gen vs DaRec and its ablations.

    .venv/bin/python run_scripts/compare.py [--backbones LightGCN SGL SimGCL] [--datasets ml-100k steam]
        [--variants base con gen darec no_disentangle ...] [--seeds 1 2 3]
        [--config DATASET=a.yaml,b.yaml ...] [--output results/claim] [--report-only]
        [--reuse RUNS_CSV ...] [--key=value ...]

For every dataset, backbone and variant, trains one model per seed through RecBole on the same
vectors, split and protocol, and writes ``<output>-<dataset>.md`` (and ``.csv``): mean ± std per
metric, and for DaRec against each rival (base, Con, Gen, and DaRec's own ablations) the
relative difference and a paired t-test across seeds (the seeds pair the runs: same split, same
initialisation seed). Each backbone gets a plain-language verdict: does DaRec beat Con and Gen
here, and by how much. With 3 seeds a paired t-test has 2 degrees of freedom: only large,
consistent differences reach p < 0.05, so "not significant" is the expected verdict for small
effects, not evidence of no effect.

Variants (``<X>`` is the backbone):
    base            <X>
    con             <X>Con      (RLMRec-Con)
    gen             <X>Gen      (RLMRec-Gen)
    darec           DaRec<X>
    no_disentangle  DaRec<X>, darec_disentangle: False (one projection per side, no L_or / L_uni)
    no_orthogonal   DaRec<X>, darec_orthogonal: False
    no_uniformity   DaRec<X>, darec_uniformity: False
    no_global       DaRec<X>, darec_global: False
    no_local        DaRec<X>, darec_local: False
    hungarian       DaRec<X>, darec_matching: hungarian (optimal instead of greedy centre matching)
    alpharec        AlphaRec (text as input, LightGCN's propagation); its settings come from the
                    backbone's config files, so list it under one backbone (LightGCN)
    NAME:k=v,...    that variant with RecBole settings of its own, as a row of its own: e.g.
                    con:con_weight=0.0001 beside con, when RLMRec's default weight does not train
                    on a backbone (SimGCL on ml-100k, docs/claim.md). RecBole's ``model`` key
                    swaps the class: base:model=RLMRecSGL with --layer_combination=sum compares
                    DaRec with RLMRec's SGL (layers summed) instead of RecBole's. Without a plain
                    darec, the first darec:k=v is the row every other is compared against: with
                    --reuse, base runs that reproduce.py made without DaRec's keys (darec_interval)
                    then count, as their fingerprint no longer carries them

Runs go to ``<output>.runs.csv`` as in ``reproduce.py``: resumable, a changed setting is run again,
and parallel invocations may share it. ``--reuse results/darec-gain.runs.csv`` copies runs that
``reproduce.py`` already made of the same model, dataset, seed and setting fingerprint (the hash of
the config files' content and the overrides) instead of training them again; the copy names its source. The default config per dataset is that of
``reproduce.py --grid darec`` (``{backbone}`` in a path is the backbone's name).
"""

import argparse
import datetime
import os

from recbole_darec.experiments import REPO
from recbole_darec.experiments.cell import train_cell
from recbole_darec.experiments.reproduce import GRIDS, load_model_class, prepare_output
from recbole_darec.experiments.runs import (
    append_run,
    cell_folder,
    one_per_seed,
    read_runs,
    setting_fingerprint,
    write_runs,
)
from recbole_darec.experiments.stats import mean_std, paired_t_test
from recbole_darec.experiments.vectors import (
    ensure_split_vectors,
    reads_llm_vectors,
    same_vectors,
    vectors_digest,
)
from recbole_darec.files import atomic_write_text

VARIANTS = {
    "base": ("{X}", {}),
    "con": ("{X}Con", {}),
    "gen": ("{X}Gen", {}),
    "darec": ("DaRec{X}", {}),
    "no_disentangle": ("DaRec{X}", {"darec_disentangle": False}),
    "no_orthogonal": ("DaRec{X}", {"darec_orthogonal": False}),
    "no_uniformity": ("DaRec{X}", {"darec_uniformity": False}),
    "no_global": ("DaRec{X}", {"darec_global": False}),
    "no_local": ("DaRec{X}", {"darec_local": False}),
    "hungarian": ("DaRec{X}", {"darec_matching": "hungarian"}),
    "alpharec": ("AlphaRec", {}),
}
RIVALS = ("base", "con", "gen")
HEADLINE = ("recall@20", "ndcg@20")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["LightGCN", "SGL", "SimGCL"])
    parser.add_argument("--datasets", nargs="+", default=["ml-100k", "steam"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), metavar="VARIANT",
                        help="names from the list above; NAME:key=value[,key=value] is that variant with "
                             "RecBole settings of its own (e.g. con:con_weight=0.0001), a row of its own")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--config", action="append", default=[], metavar="DATASET=a.yaml,b.yaml")
    parser.add_argument("--output", default=os.path.join("results", "claim"))
    parser.add_argument("--report-only", action="store_true",
                        help="write the tables; train nothing (runs found by --reuse still count)")
    parser.add_argument("--reuse", nargs="+", default=[], metavar="RUNS_CSV",
                        help="runs files of reproduce.py: a run there of the same model, dataset, seed and "
                             "setting fingerprint counts as this cell's run and is copied, not retrained")
    parser.add_argument("--anchor", metavar="VARIANT",
                        help="the listed variant every other is compared against (default: darec, else the "
                             "first darec:..., else alpharec the same way), e.g. an AlphaRec row beside DaRec")
    args, extra = parser.parse_known_args(argv)
    bad = [arg for arg in extra if not (arg.startswith("--") and "=" in arg)]
    if bad:
        parser.error(f"unrecognised arguments {bad}: RecBole settings are given as --key=value")
    overrides = dict(arg[2:].split("=", 1) for arg in extra)
    for variant in args.variants:
        try:
            model, _ = variant_setting(variant)
        except ValueError as error:
            parser.error(f"--variants {variant!r}: {error}")
        if "{X}" not in model:
            try:
                load_model_class(model)
            except (ValueError, ImportError) as error:
                parser.error(f"--variants {variant!r}: {error}")
    if args.anchor is not None and args.anchor not in args.variants:
        parser.error(f"--anchor {args.anchor!r} is not one of --variants {args.variants}")
    if args.anchor is not None and args.anchor.partition(":")[0] not in ("darec", "alpharec"):
        parser.error(f"--anchor {args.anchor!r}: expected a darec or alpharec variant")
    args.ours = args.anchor or darec_row(args.variants)
    if args.ours is None:
        parser.error("--variants must include darec or alpharec (or NAME:key=value, with settings of its "
                     "own): every comparison is against it")
    config = dict(GRIDS["darec"]["config"])
    for item in args.config:
        dataset, _, files = item.partition("=")
        if not files:
            parser.error(f"--config {item!r}: expected DATASET=a.yaml[,b.yaml]")
        config[dataset] = files.split(",")
    unknown = [d for d in args.datasets if d not in config]
    if unknown:
        parser.error(f"no config for {unknown}: give --config DATASET=a.yaml")
    args.config = {d: [os.path.abspath(os.path.join(REPO, f)) for f in config[d]] for d in args.datasets}
    missing = sorted({path for d in args.datasets for b in args.backbones for path in config_files(args, d, b)
                      if not os.path.exists(path)})
    if missing:
        parser.error("config files not found: " + ", ".join(os.path.relpath(p, REPO) for p in missing))
    missing = [path for path in args.reuse if not os.path.exists(os.path.join(REPO, path))]
    if missing:
        parser.error(f"--reuse: runs file(s) not found: {missing}")
    return args, overrides


def config_files(args, dataset, backbone):
    return [path.format(dataset=dataset, backbone=backbone) for path in args.config[dataset]]


def variant_setting(variant):
    r"""(model template, RecBole settings) of ``variant``: a name of VARIANTS, or ``NAME:key=value,...``
    (that variant with settings of its own)."""
    name, colon, own = variant.partition(":")
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; expected one of {list(VARIANTS)}")
    model, extra = VARIANTS[name]
    pairs = [pair for pair in own.split(",") if pair]
    if colon and (not pairs or any("=" not in pair or not pair.partition("=")[0] for pair in pairs)):
        raise ValueError(f"expected {name}:key=value[,key=value], got {variant!r}")
    settings = {**extra, **dict(pair.split("=", 1) for pair in pairs)}
    # RecBole's own `model` key picks the class: recorded as the run's model, not as a setting.
    return settings.pop("model", model), settings


def darec_row(variants):
    r"""The variant every other is compared against: plain ``darec`` when listed, else the first
    ``darec:key=value`` (DaRec with settings of its own, e.g. beside base runs ``reproduce.py`` made
    without them); without DaRec, AlphaRec the same way; None when there is neither."""
    for name in ("darec", "alpharec"):
        if name in variants:
            return name
        found = next((v for v in variants if v.partition(":")[0] == name), None)
        if found:
            return found
    return None


def anchor_kind(ours):
    r"""``AlphaRec`` or ``DaRec``: which method the row every other is compared against is."""
    return "AlphaRec" if ours.partition(":")[0] == "alpharec" else "DaRec"


def anchor_name(backbone, ours):
    r"""How verdicts call the row every other is compared against."""
    return ("AlphaRec" if anchor_kind(ours) == "AlphaRec" else f"DaRec{backbone}") + own_settings(ours)


def own_settings(variant):
    r"""`` (key=value,...)`` for a variant with settings of its own, else ``""``: how a verdict names it."""
    _, colon, own = variant.partition(":")
    return f" ({own})" if colon else ""


def rival_kind(variant, ours="darec"):
    r"""``base``, ``con`` or ``gen`` for a rival of DaRec (with or without settings of its own), and
    ``darec`` too when AlphaRec is the row compared against; else None."""
    name = variant.partition(":")[0]
    rivals = RIVALS + (("darec",) if ours.partition(":")[0] != "darec" else ())
    return name if name in rivals else None


def cells(args, overrides):
    r"""(dataset, backbone, variant, model, RecBole overrides, setting fingerprint) of every cell."""
    for dataset in args.datasets:
        for backbone in args.backbones:
            for variant in args.variants:
                model, extra = variant_setting(variant)
                settings = {**overrides, **extra}
                model = model.format(X=backbone)
                fingerprint = setting_fingerprint(config_files(args, dataset, backbone), settings,
                                                  reads_llm_vectors(model))
                yield dataset, backbone, variant, model, settings, fingerprint


def metric_columns(rows):
    r"""The metrics every row has, as Recall@5, @10, @20, then NDCG@...: runs reused from a grid with
    more cutoffs carry columns the others lack."""
    shared = set.intersection(*(set(k for k in row if "@" in k) for row in rows))
    return sorted(shared, key=lambda k: (k.split("@")[0] != "recall", k.split("@")[0], int(k.split("@")[1])))


def compare(runs_by_variant, metric, ours="darec"):
    r"""{rival: (relative difference of DaRec's mean, p-value, pairs)} over the seeds both ran."""
    mine = {r["seed"]: r[metric] for r in runs_by_variant.get(ours, [])}
    result = {}
    for rival, rival_runs in runs_by_variant.items():
        if rival == ours:
            continue
        theirs = {r["seed"]: r[metric] for r in rival_runs}
        seeds = sorted(set(mine) & set(theirs))
        if not seeds:
            continue
        a, b = [mine[s] for s in seeds], [theirs[s] for s in seeds]
        mean_b = sum(b) / len(b)
        result[rival] = ((sum(a) / len(a) - mean_b) / mean_b, paired_t_test(a, b), len(seeds))
    return result


def verdict(backbone, comparison, ours="darec"):
    r"""A sentence per backbone: does DaRec (the ``ours`` row) beat Con and Gen (and the base) here?"""
    parts = []
    darec = anchor_name(backbone, ours)
    rivals = [v for v in dict.fromkeys(v for m in HEADLINE for v in comparison.get(m, {})) if rival_kind(v, ours)]
    order = RIVALS + ("darec",)
    for rival in sorted(rivals, key=lambda v: (order.index(rival_kind(v, ours)), v)):
        found = [(m, comparison[m][rival]) for m in HEADLINE if rival in comparison.get(m, {})]
        name = {"base": backbone, "con": f"{backbone}-Con", "gen": f"{backbone}-Gen",
                "darec": f"DaRec{backbone}"}[rival_kind(rival, ours)]
        name += own_settings(rival)
        significant = [m for m, (_, p, _) in found if p is not None and p < 0.05]
        sign = {m: d for m, (d, _, _) in found}
        if all(p is None for _, (_, p, _) in found):
            pairs = min(n for _, (_, _, n) in found)
            word = "cannot yet be tested against"
            name += f" ({pairs} paired seed{'s' if pairs != 1 else ''}; the t-test needs 2)"
        elif significant and all(sign[m] > 0 for m in significant):
            word = "beats"
        elif significant and all(sign[m] < 0 for m in significant):
            word = "loses to"
        else:
            word = "does not differ significantly from"
        numbers = ", ".join(f"{m} {100 * d:+.1f}% (p={'n/a' if p is None else f'{p:.3f}'})" for m, (d, p, _) in found)
        parts.append(f"{darec} {word} {name}: {numbers}")
    return "; ".join(parts) + "." if parts else "not enough runs yet."


def _difference(runs_by_variant, ours, theirs, metric):
    found = compare({ours: runs_by_variant[ours], theirs: runs_by_variant[theirs]}, metric, ours=ours)
    if theirs not in found:
        return ""
    d, p, _ = found[theirs]
    return f"{100 * d:+.1f}% (p={'n/a' if p is None else f'{p:.3f}'})"


def text_contribution(runs_by_variant):
    r"""Table lines: each aligned variant against the base and against its own shuffled-vector
    control (``NAME:llm_shuffle_seed=...``), when those ran: does it beat its backbone, and is
    what it adds the text's?"""
    rows = []
    for variant in runs_by_variant:
        name, _, own = variant.partition(":")
        if name == "base" or "llm_shuffle_seed" in own:
            continue
        shuffled = next((v for v in runs_by_variant if v.partition(":")[0] == name
                         and "llm_shuffle_seed" in v.partition(":")[2]), None)
        if shuffled is None:
            continue
        cells = [_difference(runs_by_variant, variant, "base", m) if "base" in runs_by_variant else ""
                 for m in HEADLINE]
        cells += [_difference(runs_by_variant, variant, shuffled, m) for m in HEADLINE]
        rows.append(f"| {variant} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return ["", "Each method against the base and against itself on shuffled vectors (real minus shuffled: "
            "what the text's meaning adds; paired t-test p):", "",
            "| variant | " + " | ".join(f"vs base {m}" for m in HEADLINE) + " | "
            + " | ".join(f"real vs shuffled {m}" for m in HEADLINE) + " |",
            "|---" * (1 + 2 * len(HEADLINE)) + "|", *rows]


METHOD_NAMES = (("base", "base"), ("con", "RLMRec-Con"), ("gen", "RLMRec-Gen"), ("darec", "DaRec"),
                ("alpharec", "AlphaRec"))


def listed_methods(variants):
    r"""The methods the variants hold, in a fixed order (``base, RLMRec-Con, DaRec and its ablations``):
    what a report's title says it compares."""
    names = {variant.partition(":")[0] for variant in variants}
    found = [label for name, label in METHOD_NAMES if name in names]
    if names & {"no_disentangle", "no_orthogonal", "no_uniformity", "no_global", "no_local", "hungarian"}:
        found.append("DaRec's ablations")
    return ", ".join(found)


def report(args, command, runs, dataset, keyed):
    title = ("AlphaRec beside the collaborative models" if anchor_kind(args.ours) == "AlphaRec"
             else "DaRec's claim")
    lines = [f"# {title} on {dataset}: {listed_methods(args.variants)}", "",
             f"Command: `{command}`", "",
             f"Seeds asked: {args.seeds} (each row's runs column counts the seeds it finished). Machine: "
             f"{os.cpu_count()} CPU cores. Date: {datetime.date.today()}. Config: "
             + ", ".join(os.path.relpath(f, REPO) for f in args.config[dataset])
             + ". Test metrics of the best-validation checkpoint, mean ± std over seeds; p: two-sided paired "
               f"t-test across seeds ({len(args.seeds) - 1} degrees of freedom with {len(args.seeds)} seeds: "
               "only large, consistent differences reach p < 0.05).", ""]
    summary_rows = []
    verdicts = []
    for backbone in args.backbones:
        by_variant = {}
        for variant in args.variants:
            fingerprint = keyed[(dataset, backbone, variant)]
            mine = one_per_seed([r for r in runs if r["dataset"] == dataset and r["variant"] == variant
                                 and r["backbone"] == backbone and r["setting"] == fingerprint
                                 and r["seed"] in args.seeds])
            if mine:
                by_variant[variant] = mine
        lines += [f"## {backbone}", ""]
        if not by_variant:
            lines += ["(no finished run yet)", ""]
            continue
        metrics = metric_columns([r for mine in by_variant.values() for r in mine])
        lines.append("| variant | model | runs | " + " | ".join(metrics) + " |")
        lines.append("|---" * (len(metrics) + 3) + "|")
        for variant, mine in by_variant.items():
            stats = {m: mean_std([r[m] for r in mine]) for m in metrics}
            cells_ = [f"{stats[m][0]:.4f} ± {stats[m][1]:.4f}" if len(mine) > 1 else f"{stats[m][0]:.4f}"
                      for m in metrics]
            lines.append(f"| {variant} | {mine[0]['model']} | {len(mine)} | " + " | ".join(cells_) + " |")
            summary_rows.append({"dataset": dataset, "backbone": backbone, "variant": variant,
                                 "model": mine[0]["model"], "runs": len(mine),
                                 **{f"{m}_{k}": v for m in metrics for k, v in zip(("mean", "std"), stats[m])}})
        comparison = {m: compare(by_variant, m, ours=args.ours) for m in HEADLINE if m in metrics}
        if any(comparison.values()):
            lines += ["", f"{anchor_kind(args.ours)} against each (relative difference of the means; paired t-test p):", "",
                      "| against | " + " | ".join(HEADLINE) + " |", "|---" * (len(HEADLINE) + 1) + "|"]
            rivals = [v for v in by_variant if v != args.ours]
            for rival in rivals:
                row = []
                for m in HEADLINE:
                    if rival in comparison.get(m, {}):
                        d, p, _ = comparison[m][rival]
                        row.append(f"{100 * d:+.1f}% (p={'n/a' if p is None else f'{p:.3f}'})")
                    else:
                        row.append("")
                lines.append(f"| {rival} | " + " | ".join(row) + " |")
        lines += text_contribution(by_variant)
        verdicts.append(f"- **{backbone}**: {verdict(backbone, comparison, args.ours)}")
        lines.append("")
    if verdicts:
        lines += ["## Verdict", "", *verdicts, ""]
    return "\n".join(lines), summary_rows


def main(argv=None):
    args, overrides = parse_args(argv)
    output, runs_path = prepare_output(args.output)
    command = "python run_scripts/compare.py " + " ".join(
        ["--backbones", *args.backbones, "--datasets", *args.datasets, "--variants", *args.variants,
         "--seeds", *map(str, args.seeds), "--output", args.output]
        + (["--anchor", args.anchor] if args.anchor else [])
        + (["--reuse", *args.reuse] if args.reuse else [])
        + [f"--{k}={v}" for k, v in overrides.items()])
    grid = list(cells(args, overrides))
    reusable = [(os.path.relpath(os.path.join(REPO, path), REPO), row)
                for path in args.reuse for row in read_runs(os.path.join(REPO, path))]
    keyed = {(d, b, v): f for d, b, v, _, _, f in grid}
    cell_models = {(d, b, v): (m, s) for d, b, v, m, s, _ in grid}
    digests = {}

    def on_current_vectors(row):
        # A run made on vector files that were re-embedded since is not this grid's run.
        key = (row["dataset"], row["backbone"], row["variant"])
        if key not in cell_models:
            return True
        if key + (row["seed"],) not in digests:
            model, settings = cell_models[key]
            digests[key + (row["seed"],)] = vectors_digest(model, row["dataset"], config_files(args, *key[:2]),
                                                           row["seed"], settings)
        return same_vectors(row, digests[key + (row["seed"],)])

    def write_reports():
        runs = [row for row in read_runs(runs_path) if on_current_vectors(row)]
        for dataset in args.datasets:
            text, rows = report(args, command, runs, dataset, keyed)
            atomic_write_text(f"{output}-{dataset}.md", lambda f: f.write(text))
            if rows:
                write_runs(f"{output}-{dataset}.csv", rows)
            print(text, flush=True)

    for seed in args.seeds:
        for dataset, backbone, variant, model, settings, fingerprint in grid:
            if not args.report_only:
                # First, so that the files the finished runs are compared with are this split's.
                if ensure_split_vectors(dataset, model, config_files(args, dataset, backbone), seed, settings):
                    digests.clear()  # the files may have been re-embedded just now
            done = [r for r in read_runs(runs_path) if (r["dataset"], r["backbone"], r["variant"], r["seed"],
                                                         r["setting"]) == (dataset, backbone, variant, seed, fingerprint)
                    and on_current_vectors(r)]
            if done:
                print(f"  {variant} ({model}) on {dataset} seed {seed}: done earlier", flush=True)
                continue
            earlier = [(path, row) for path, row in reusable
                       if (row["model"], row["dataset"], row["seed"], row["setting"]) == (model, dataset, seed, fingerprint)
                       and on_current_vectors({**row, "backbone": backbone, "variant": variant})]
            if earlier:
                path, row = earlier[0]
                print(f"  {variant} ({model}) on {dataset} seed {seed}: same setting found in {path}", flush=True)
                append_run(runs_path, {"dataset": dataset, "backbone": backbone, "variant": variant,
                                       **row, "reused_from": path})
                continue
            if args.report_only:
                print(f"  {variant} ({model}) on {dataset} seed {seed}: not run (--report-only)", flush=True)
                continue
            train_cell(runs_path, cell_folder(output, dataset, model, seed, fingerprint),
                       f"{variant} ({model}) on {dataset} seed {seed}", model, dataset, seed,
                       config_files(args, dataset, backbone), settings,
                       {"dataset": dataset, "backbone": backbone, "variant": variant, "setting": fingerprint},
                       on_current_vectors)
    write_reports()
    reports = ", ".join(f"{output}-{dataset}.md" for dataset in args.datasets)
    print(f"written: {reports} (and .csv beside each), {output}.runs.csv")


if __name__ == "__main__":
    main()
