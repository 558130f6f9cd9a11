r"""Training overhead of DaRec over its base model, on RecBole's bundled ml-100k.

Part ``train``: per-epoch training wall time (``trainer._train_epoch`` only: no evaluation) and
peak resident memory of LightGCN and DaRecLightGCN (defaults, then one switch changed at a time).
Timing: one subprocess per seed builds every model and runs their epochs interleaved round-robin,
so that the drift in speed of a shared machine hits all models alike; the first epoch is a
warm-up, reported apart; mean ± std are over the remaining epochs of all seeds, and per-batch
medians are given too (robust to bursts of host contention). Memory: each model once more in a
fresh subprocess of its own, so that its peak RSS is its own.

Part ``step``: the alignment step alone, forward + backward of ``DaRecObjective`` (default
config, d = 64 collaborative rows, 384-d language-model rows) at several N_hat, with a per-term
breakdown (each term's own function on precomputed projector outputs) and, for L_glo, the dense
literal form (two N_hat x N_hat matrices) against the Gram identity used by the package. The
parts are interleaved round-robin too.

The language-model vectors are random, L2-normalised, 384-d, one per ml-100k user and item token
(timing does not depend on their content). RecBole forces data_path to its own bundled copy of
ml-100k, so the vector files are passed with llm_user_vector_file / llm_item_vector_file.

Usage (from the repository root):
    .venv/bin/python run_scripts/bench_overhead.py                     # both parts, defaults
    .venv/bin/python run_scripts/bench_overhead.py --epochs 8 --seeds 0 1 2
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _bench_common import (  # noqa: E402
    REPO_ROOT,
    fmt_mean_std,
    fmt_median_iqr_ms,
    machine_description,
    markdown_table,
    median_iqr,
    time_round_robin,
)

LLM_DIM = 384
VARIANTS = {
    "LightGCN": ("LightGCN", {}),
    "DaRecLightGCN (defaults)": ("DaRecLightGCN", {}),
    "DaRecLightGCN, darec_sample_mode: batch": ("DaRecLightGCN", {"darec_sample_mode": "batch"}),
    "DaRecLightGCN, darec_global_rows: all": ("DaRecLightGCN", {"darec_global_rows": "all"}),
    "DaRecLightGCN, darec_interval: 4": ("DaRecLightGCN", {"darec_interval": 4}),
    "DaRecLightGCN, darec_interval: 10": ("DaRecLightGCN", {"darec_interval": 10}),
    "DaRecLightGCN, darec_score: disentangled": ("DaRecLightGCN", {"darec_score": "disentangled"}),
    "DaRecLightGCN, darec_score: fused": ("DaRecLightGCN", {"darec_score": "fused"}),
    # Its own yaml's batch (4096, the authors') and 256 negatives per positive: an epoch as trained.
    "AlphaRec": ("AlphaRec", {}),
    "AlphaRec, alpharec_hidden_size: 1024": ("AlphaRec", {"alpharec_hidden_size": 1024}),
}


def recbole_ml100k_inter():
    import recbole

    return os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k",
                        "ml-100k.inter")


def write_random_vectors(folder, seed=0):
    r"""Random L2-normalised vectors for every user and item token of ml-100k.inter."""
    from recbole_darec.data.llm_vectors import write_npz_vectors

    users, items = set(), set()
    with open(recbole_ml100k_inter(), encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            user, item = line.split("\t")[:2]
            users.add(user)
            items.add(item)
    rng = np.random.default_rng(seed)
    paths = {}
    for kind, tokens in (("user", users), ("item", items)):
        tokens = sorted(tokens, key=int)
        vectors = rng.normal(size=(len(tokens), LLM_DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        paths[kind] = os.path.join(folder, f"ml-100k.{kind}_llm.npz")
        write_npz_vectors(paths[kind], tokens, vectors)
    return paths, len(users), len(items)


# ----------------------------------------------------------------------------------------------
# part 'train': one model per subprocess
# ----------------------------------------------------------------------------------------------
def _proc_status_kb(field):
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss():
    r"""Linux >= 4.0: writing 5 to clear_refs resets the peak RSS (VmHWM) of this process."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
            f.write("5")
        return True
    except OSError:
        return False


def build(variant, seed, args, cache):
    r"""RecBole objects for one variant, built with RecBole's own functions. ``cache`` keeps one
    dataset and train loader per model class (the DaRec variants differ only in model keys)."""
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    model_name, overrides = VARIANTS[variant]
    config_dict = {
        "seed": seed,
        "state": "ERROR",
        "show_progress": False,
        "checkpoint_dir": os.path.join(args.workdir, "saved"),
        "llm_user_vector_file": args.user_vectors,
        "llm_item_vector_file": args.item_vectors,
        "use_gpu": args.device == "cuda",
    }
    config_dict.update(overrides)
    config = Config(model=model_name, dataset="ml-100k", config_dict=config_dict)
    if model_name not in cache:
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        cache[model_name] = (dataset, data_preparation(config, dataset)[0])
    dataset, train_data = cache[model_name]
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    if config["device"].type != args.device:
        raise SystemExit(f"--device {args.device}: RecBole put the model on {config['device']}")
    info = {
        "batches": len(train_data),
        "train_interactions": len(train_data._dataset),
        "n_users": dataset.user_num,
        "n_items": dataset.item_num,
        "sample_size": getattr(model, "sample_size", None),
        "train_batch_size": config["train_batch_size"],
        "threads": torch.get_num_threads(),
    }
    return trainer, train_data, info


def _enter_worker(args):
    sys.argv = sys.argv[:1]  # RecBole's Config parses the command line; keep ours out of it
    os.chdir(args.workdir)  # RecBole writes log_tensorboard/ and saved/ into the working dir
    import recbole_darec  # noqa: F401  (before RecBole builds anything)


def timed_epoch(trainer, train_data, epoch, device=torch.device("cpu")):
    r"""Wall time of ``trainer._train_epoch`` and of each of its batches (optimizer step to
    optimizer step, so a batch includes its data loading, forward, backward and update; on CUDA
    each step is waited for, so a batch's time is its own)."""
    from _bench_common import synchronize

    stamps = []
    step = trainer.optimizer.step

    def stamped_step(*a, **kw):
        out = step(*a, **kw)
        synchronize(device)
        stamps.append(time.perf_counter())
        return out

    trainer.optimizer.step = stamped_step
    try:
        start = time.perf_counter()
        trainer._train_epoch(train_data, epoch, show_progress=False)
        total = time.perf_counter() - start
    finally:
        trainer.optimizer.step = step
    batches = np.diff([start] + stamps).tolist()
    return total, batches


def timing_worker(args):
    r"""All variants in one process, epochs interleaved round-robin (epoch e of every variant in
    turn), so that a drift in machine speed hits every variant alike."""
    from _bench_common import machine_speed_probe

    _enter_worker(args)
    cache, runs = {}, {}
    for variant in args.variants:
        trainer, train_data, info = build(variant, args.seed, args, cache)
        runs[variant] = {"trainer": trainer, "train_data": train_data, "info": info,
                         "epoch_times": [], "batch_times": [], "probes": []}
    for epoch in range(args.epochs):
        for variant in args.variants:
            run = runs[variant]
            run["probes"].append(machine_speed_probe())
            total, batches = timed_epoch(run["trainer"], run["train_data"], epoch, torch.device(args.device))
            run["epoch_times"].append(total)
            run["batch_times"].append(batches)
    result = {v: {k: r[k] for k in ("info", "epoch_times", "batch_times", "probes")}
              for v, r in runs.items()}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"seed": args.seed, "variants": result}, f)


def memory_worker(args):
    r"""One variant alone in this process: resident memory before and during training."""
    import resource

    _enter_worker(args)
    trainer, train_data, info = build(args.memory_worker, args.seed, args, {})
    setup_peak_kb = _proc_status_kb("VmHWM")
    rss_before_kb = _proc_status_kb("VmRSS")
    reset = _reset_peak_rss()
    for epoch in range(args.memory_epochs):
        trainer._train_epoch(train_data, epoch, show_progress=False)
    train_peak_kb = _proc_status_kb("VmHWM") if reset else None
    result = {
        "variant": args.memory_worker,
        "info": info,
        "setup_peak_mb": setup_peak_kb / 1024 if setup_peak_kb else None,
        "rss_before_train_mb": rss_before_kb / 1024 if rss_before_kb else None,
        "train_peak_mb": train_peak_kb / 1024 if train_peak_kb else None,
        "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f)


def _spawn(flags, tmp, paths, label):
    workdir = tempfile.mkdtemp(dir=tmp)
    out = os.path.join(workdir, "result.json")
    command = [sys.executable, os.path.abspath(__file__), *flags, "--workdir", workdir,
               "--user-vectors", paths["user"], "--item-vectors", paths["item"], "--out", out]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{label} failed")
    print(f"done: {label} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def run_training_part(args, tmp):
    paths, _, _ = write_random_vectors(tmp, seed=0)
    timing = [
        _spawn(["--timing-worker", "--device", args.device, "--seed", str(seed), "--epochs", str(args.epochs),
                "--variants", *args.variants], tmp, paths, f"timing, seed {seed}")
        for seed in args.seeds
    ]
    memory = {
        variant: _spawn(["--memory-worker", variant, "--device", args.device, "--seed", str(args.seeds[0]),
                         "--memory-epochs", str(args.memory_epochs)], tmp, paths,
                        f"memory, {variant}")
        for variant in args.variants
    } if args.memory_epochs > 0 else {}
    return timing, memory


def report_training(timing, memory, args):
    r"""Prints the table; returns per variant the pooled later-epoch times, the pooled later-epoch
    batch times and the info dict."""
    pooled = {}
    for variant in args.variants:
        runs = [t["variants"][variant] for t in timing]
        pooled[variant] = {
            "epochs": [x for r in runs for x in r["epoch_times"][1:]],
            "warmups": [r["epoch_times"][0] for r in runs],
            "batches": [b for r in runs for epoch in r["batch_times"][1:] for b in epoch],
            "probes": [p for r in runs for p in r["probes"][1:]],
            "info": runs[0]["info"],
        }
    info = pooled[args.variants[0]]["info"]
    base = pooled.get("LightGCN")
    rows = []
    for variant in args.variants:
        p = pooled[variant]
        epoch_mean = np.mean(p["epochs"])
        batch_median = median_iqr(p["batches"])[0]
        mem = memory.get(variant)
        rows.append([
            variant,
            p["info"]["sample_size"] if p["info"]["sample_size"] is not None else "–",
            fmt_mean_std(p["epochs"], digits=2),
            f"{epoch_mean / np.mean(base['epochs']):.2f}x" if base else "–",
            fmt_median_iqr_ms(p["batches"]),
            f"{batch_median / median_iqr(base['batches'])[0]:.2f}x" if base else "–",
            fmt_mean_std(p["warmups"], digits=2),
            f"{mem['train_peak_mb']:.0f}" if mem and mem["train_peak_mb"] else "–",
            f"{mem['process_peak_mb']:.0f}" if mem else "–",
            f"{mem['rss_before_train_mb']:.0f}" if mem and mem["rss_before_train_mb"] else "–",
            f"{np.median(p['probes']):.2f} [{min(p['probes']):.2f}–{max(p['probes']):.2f}]",
        ])
    n_measured = (args.epochs - 1) * len(args.seeds)
    print(f"ml-100k as RecBole loads it: {info['n_users'] - 1} users, {info['n_items'] - 1} items "
          f"(users + items = {info['n_users'] + info['n_items'] - 2}), "
          f"{info['train_interactions']} training interactions, {info['batches']} batches of "
          f"{info['train_batch_size']} per epoch; torch threads {info['threads']}.")
    print(f"Timing: seeds {args.seeds}, one process per seed holding every model, {args.epochs} "
          f"epochs per model interleaved round-robin; the first epoch is a warm-up, reported "
          f"apart; mean ± std over the {args.epochs - 1} x {len(args.seeds)} = {n_measured} later "
          f"epochs; per-batch median [IQR] over their batches. Memory: one fresh process per "
          f"model (seed {args.seeds[0]}, {args.memory_epochs} epochs); 'in training' is the peak "
          f"RSS after resetting the process's high-water mark once the model was built.\n")
    print(markdown_table(
        ["model", "N_hat", "epoch s, mean ± std", "epoch ÷ LightGCN", "batch ms, median [IQR]",
         "batch median ÷ LightGCN", "warm-up epoch s", "peak RSS in training MB",
         "peak RSS of process MB", "RSS before training MB",
         "speed probe ms, median [min–max]"],
        rows,
    ))
    print("\nspeed probe: one 512 x 512 float32 matmul (median of 20) timed before each epoch; "
          "on a quiet machine it takes about 1.6 ms. Larger values mean the shared host was busy.")
    return pooled


# ----------------------------------------------------------------------------------------------
# part 'step': the alignment step alone
# ----------------------------------------------------------------------------------------------
def darec_defaults(embedding_size=64):
    import yaml

    path = os.path.join(REPO_ROOT, "recbole_darec", "properties", "model", "DaRecRecommender.yaml")
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    config["embedding_size"] = embedding_size
    return config


def dense_global_loss(cf_shared, llm_shared):
    r"""L_glo (cosine_mean form) the literal way: two N x N similarity matrices."""
    import torch.nn.functional as F

    a, b = F.normalize(cf_shared, dim=1), F.normalize(llm_shared, dim=1)
    return (a @ a.T - b @ b.T).pow(2).mean()


def step_timings(n_hat, config, repeats, warmup, seed, device=torch.device("cpu")):
    r"""Forward + backward wall times (lists of seconds) of the whole objective and of its parts."""
    from recbole_darec.model import darec_objective as obj

    torch.manual_seed(seed)
    cf_dim, d_s = config["embedding_size"], config["darec_shared_dim"] or config["embedding_size"]
    objective = obj.DaRecObjective(config, cf_dim=cf_dim, llm_dim=LLM_DIM).to(device)
    cf_rows = torch.randn(n_hat, cf_dim, device=device)
    llm_rows = torch.nn.functional.normalize(torch.randn(n_hat, LLM_DIM, device=device), dim=1)
    weight = float(config["darec_weight"])

    def whole(i):
        torch.manual_seed(seed + i)
        rows = cf_rows.clone().requires_grad_(True)
        objective.zero_grad(set_to_none=True)
        terms = objective(rows, llm_rows)
        (weight * sum(terms.values())).backward()

    def projectors(i):
        rows = cf_rows.clone().requires_grad_(True)
        objective.zero_grad(set_to_none=True)
        outputs = [objective.cf_shared(rows), objective.llm_shared(llm_rows)]
        if objective.disentangle:
            outputs += [objective.cf_specific(rows), objective.llm_specific(llm_rows)]
        sum(out.sum() for out in outputs).backward()

    # Precomputed projector outputs, as leaves: each term below is timed on its own.
    with torch.no_grad():
        cf_sh0, llm_sh0 = objective.cf_shared(cf_rows), objective.llm_shared(llm_rows)
        cf_sp0, llm_sp0 = objective.cf_specific(cf_rows), objective.llm_specific(llm_rows)

    def leaves():
        return [t.clone().requires_grad_(True) for t in (cf_sh0, llm_sh0, cf_sp0, llm_sp0)]

    def orthogonal(i):
        cf_sh, llm_sh, cf_sp, llm_sp = leaves()
        (obj.orthogonality_loss(llm_sp, llm_sh) + obj.orthogonality_loss(cf_sp, cf_sh)).backward()

    def uniformity(i):
        torch.manual_seed(seed + i)
        _, _, cf_sp, llm_sp = leaves()
        rows = torch.randperm(n_hat, device=device)[: objective.uniformity_rows]
        t = objective.uniformity_t
        (obj.uniformity_loss(cf_sp[rows], t) + obj.uniformity_loss(llm_sp[rows], t)).backward()

    def global_gram(i):
        cf_sh, llm_sh, _, _ = leaves()
        obj.global_alignment_loss(cf_sh, llm_sh, objective.global_form).backward()

    def global_dense(i):
        cf_sh, llm_sh, _, _ = leaves()
        dense_global_loss(cf_sh, llm_sh).backward()

    def local(i):
        torch.manual_seed(seed + i)
        cf_sh, llm_sh, _, _ = leaves()
        centres = obj.matched_centres(cf_sh, llm_sh, objective.n_clusters, objective.kmeans_iters,
                                      objective.matching)
        obj.local_alignment_loss(*centres).backward()

    def local_kmeans_only(i):
        torch.manual_seed(seed + i)
        obj.kmeans(cf_sh0, objective.n_clusters, objective.kmeans_iters)
        obj.kmeans(llm_sh0, objective.n_clusters, objective.kmeans_iters)

    parts = {
        "whole objective": whole,
        "projectors (4 MLPs)": projectors,
        "orthogonal": orthogonal,
        "uniformity": uniformity,
        "global (Gram identity, used)": global_gram,
        "local (2 k-means + matching + L_loc)": local,
        "  of which 2 k-means (no grad)": local_kmeans_only,
        "global, dense literal (2 N_hat x N_hat)": global_dense,
    }
    times = time_round_robin(parts, device, repeats, warmup)

    # Same value both ways (float64 for the dense reference, to see the identity's own error).
    gram = obj.global_alignment_loss(cf_sh0.double(), llm_sh0.double(), objective.global_form)
    dense = dense_global_loss(cf_sh0.double(), llm_sh0.double())
    relative_error = abs(gram.item() - dense.item()) / abs(dense.item())
    gram32 = obj.global_alignment_loss(cf_sh0, llm_sh0, objective.global_form).item()
    relative_error32 = abs(gram32 - dense.item()) / abs(dense.item())
    return times, relative_error, relative_error32


def run_step_part(args):
    config = darec_defaults()
    print(f"DaRecObjective with the defaults of DaRecRecommender.yaml (embedding_size 64, "
          f"darec_hidden_dim {config['darec_hidden_dim']}, darec_uniformity_rows "
          f"{config['darec_uniformity_rows']}, K = {config['darec_n_clusters']}, "
          f"{config['darec_kmeans_iters']} k-means iterations, {config['darec_matching']} "
          f"matching, global form {config['darec_global_form']}); cf rows N_hat x 64, language-"
          f"model rows N_hat x {LLM_DIM}; forward + backward, {args.step_repeats} repeats after "
          f"{args.step_warmup} warm-up; median [IQR] in ms.\n")
    all_times, errors = {}, {}
    for n_hat in args.n_hats:
        times, rel64, rel32 = step_timings(n_hat, config, args.step_repeats, args.step_warmup,
                                           args.seeds[0], torch.device(args.device))
        all_times[n_hat], errors[n_hat] = times, (rel64, rel32)
        print(f"done: step at N_hat={n_hat}", file=sys.stderr)
    names = list(next(iter(all_times.values())))
    header = ["part (forward + backward)"] + [f"N_hat = {n}" for n in args.n_hats]
    rows = [[name] + [fmt_median_iqr_ms(all_times[n][name]) for n in args.n_hats]
            for name in names]
    rows.append(["dense ÷ Gram (L_glo)"] + [
        f"{median_iqr(all_times[n][names[-1]])[0] / median_iqr(all_times[n][names[4]])[0]:.0f}x"
        for n in args.n_hats])
    rows.append(["L_glo relative difference, Gram vs dense, float64 / float32 inputs"] + [
        f"{errors[n][0]:.1e} / {errors[n][1]:.1e}" for n in args.n_hats])
    print(markdown_table(header, rows))
    terms = names[2:6]
    print("\nThe projectors and the four terms are timed separately on the same inputs, so "
          "'whole objective' ≈ projectors + the four terms (+ glue: cloning the inputs, summing). "
          "Largest parts:")
    for n in args.n_hats:
        whole = median_iqr(all_times[n]["whole objective"])[0]
        medians = {t: median_iqr(all_times[n][t])[0] for t in terms}
        top = max(medians, key=medians.get)
        projectors = median_iqr(all_times[n][names[1]])[0]
        print(f"- N_hat = {n}: the projectors {projectors * 1e3:.1f} ms ({projectors / whole:.0%} "
              f"of the whole objective); of the four terms, {top.strip()} "
              f"{medians[top] * 1e3:.1f} ms ({medians[top] / whole:.0%})")
    return all_times


def report_target(pooled, step_times, args):
    r"""The issue's target: DaRec epoch <= 1.2 x LightGCN epoch at N_hat = 4096."""
    if "LightGCN" not in pooled or "DaRecLightGCN (defaults)" not in pooled:
        return
    base, darec = pooled["LightGCN"], pooled["DaRecLightGCN (defaults)"]
    batches, n_clamped = darec["info"]["batches"], darec["info"]["sample_size"]
    base_epoch, darec_epoch = float(np.mean(base["epochs"])), float(np.mean(darec["epochs"]))
    base_batch, darec_batch = median_iqr(base["batches"])[0], median_iqr(darec["batches"])[0]

    def verdict(ratio):
        return "yes" if ratio <= 1.2 else "no"

    rows = [
        [f"measured, N_hat = {n_clamped} (4096 clamped to users + items), epoch means",
         f"{base_epoch:.2f} s", f"{darec_epoch:.2f} s", f"{darec_epoch / base_epoch:.2f}x",
         verdict(darec_epoch / base_epoch)],
        [f"measured, N_hat = {n_clamped}, per-batch medians",
         f"{base_batch * 1e3:.1f} ms", f"{darec_batch * 1e3:.1f} ms",
         f"{darec_batch / base_batch:.2f}x", verdict(darec_batch / base_batch)],
    ]
    for n_hat in sorted(step_times):
        step = median_iqr(step_times[n_hat]["whole objective"])[0]
        estimate = base_batch + step
        rows.append([f"estimate, N_hat = {n_hat}: LightGCN batch + alignment step alone",
                     f"{base_batch * 1e3:.1f} ms", f"{estimate * 1e3:.1f} ms",
                     f"{estimate / base_batch:.2f}x", verdict(estimate / base_batch)])
    print("\n## 3. Target: DaRec epoch <= 1.2 x LightGCN epoch\n")
    print(markdown_table(["setting", "LightGCN", "DaRecLightGCN", "ratio", "<= 1.2x?"], rows))
    print(f"\nAn epoch is {batches} batches, so batch ratios are epoch ratios. The estimates add "
          f"the alignment step alone (median, part 2) to LightGCN's median batch; they leave out "
          f"sampling the rows, the optimizer update of the projectors and the extra gradient "
          f"into LightGCN. Compare the N_hat = {n_clamped} estimate with the measured row to "
          f"judge them.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5,
                        help="epochs per model and seed; the first is a warm-up (default 5)")
    parser.add_argument("--memory-epochs", type=int, default=2,
                        help="epochs of each fresh-process memory run (0: skip memory)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2020, 2021])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--n-hats", type=int, nargs="+", default=[1024, 2625, 4096, 8192],
                        help="N_hat values of the alignment-step part (2625 = ml-100k's clamp)")
    parser.add_argument("--step-repeats", type=int, default=10)
    parser.add_argument("--step-warmup", type=int, default=2)
    parser.add_argument("--parts", nargs="+", default=["train", "step"], choices=["train", "step"])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: the models and the step on the GPU (memory is then the host's RSS only)")
    # internal: the subprocesses
    parser.add_argument("--timing-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--user-vectors", help=argparse.SUPPRESS)
    parser.add_argument("--item-vectors", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.timing_worker:
        return timing_worker(args)
    if args.memory_worker:
        return memory_worker(args)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch is a warm-up)")

    import recbole_darec  # noqa: F401

    print("# DaRec training overhead on ml-100k")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    print(f"machine: {machine_description(torch.device(args.device))}\n")
    pooled, step_times = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench_overhead_") as tmp:
        if "train" in args.parts:
            timing, memory = run_training_part(args, tmp)
            print("## 1. Per-epoch training time and memory (trainer._train_epoch, no evaluation)\n")
            pooled = report_training(timing, memory, args)
    if "step" in args.parts:
        print("\n## 2. The alignment step alone\n")
        step_times = run_step_part(args)
    if pooled and step_times:
        report_target(pooled, step_times, args)


if __name__ == "__main__":
    main()
