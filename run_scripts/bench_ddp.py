r"""Epoch time of RecBole's multi-process training (torch DDP, gloo on the CPU, NCCL on CUDA)
against one process, on RecBole's bundled ml-100k.

    python run_scripts/bench_ddp.py [--models LightGCN DaRecLightGCN] [--layouts 1x1 1x2 2x1]
        [--epochs 4] [--device cpu|cuda]

A layout ``PxT`` is P processes of T torch threads each (on CUDA, P GPUs). Every layout trains the
same global batch (RecBole gives each of P ranks 1/P of it). The first epoch is a warm-up; the
table gives the mean ± std of the others, as rank 0 measured them. Prints one markdown table.
"""

import argparse
import os
import socket
import sys
import tempfile

import torch
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _bench_common import fmt_mean_std, markdown_table  # noqa: E402
from bench_overhead import VARIANTS, timed_epoch, write_random_vectors  # noqa: E402


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def rank_worker(rank, spec, queue):
    sys.argv = sys.argv[:1]  # RecBole's Config parses the command line
    os.chdir(spec["workdir"])
    torch.set_num_threads(spec["threads"])
    from recbole.utils import get_trainer

    from recbole_darec.experiments.build import build

    model_name, overrides = VARIANTS[spec["model"]]
    config_dict = {"seed": 2020, "state": "ERROR", "show_progress": False,
                   "checkpoint_dir": os.path.join(spec["workdir"], "saved"),
                   "llm_user_vector_file": spec["vectors"]["user"], "llm_item_vector_file": spec["vectors"]["item"],
                   "use_gpu": spec["device"] == "cuda", "gpu_id": ",".join(map(str, range(spec["nproc"]))),
                   **overrides}
    if spec["nproc"] > 1:
        config_dict.update(world_size=spec["nproc"], nproc=spec["nproc"], ip="localhost", port=str(spec["port"]),
                           offset=0, local_rank=rank)
    # DDP starts every rank from rank 0's weights, so the ranks' own seeds do not matter here.
    config, _, (train_data, _, _), model = build(model_name, "ml-100k", config_dict=config_dict)
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    times = []
    for epoch in range(spec["epochs"]):
        model.train()
        if config["device"].type == "cuda":
            torch.cuda.synchronize()
        times.append(timed_epoch(trainer, train_data, epoch, config["device"])[0])
    if rank == 0:
        queue.put({"times": times, "batches": len(train_data), "rank_batch": train_data.step})
    if spec["nproc"] > 1:
        torch.distributed.destroy_process_group()


def measure(spec):
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    mp.spawn(rank_worker, args=(spec, queue), nprocs=spec["nproc"], join=True)
    return queue.get()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["LightGCN", "DaRecLightGCN (defaults)"],
                        choices=sorted(VARIANTS))
    parser.add_argument("--layouts", nargs="+", default=["1x1", "1x2", "2x1"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args(argv)
    layouts = []
    for layout in args.layouts:
        try:
            nproc, threads = (int(part) for part in layout.split("x"))
        except ValueError:
            parser.error(f"--layouts: {layout!r} is not PxT (processes x threads), e.g. 2x1")
        if nproc < 1 or threads < 1:
            parser.error(f"--layouts: {layout!r} needs at least one process and one thread")
        if args.device == "cuda" and nproc > torch.cuda.device_count():
            parser.error(f"--layouts: {layout!r} needs {nproc} GPUs, this machine has {torch.cuda.device_count()}")
        layouts.append((layout, nproc, threads))
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is a warm-up)")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        vectors = write_random_vectors(workdir)[0]
        for model in args.models:
            base = None
            for layout, nproc, threads in layouts:
                spec = {"model": model, "nproc": nproc, "threads": threads, "epochs": args.epochs,
                        "device": args.device, "port": free_port(), "workdir": workdir, "vectors": vectors}
                result = measure(spec)
                timed = result["times"][1:]
                mean = sum(timed) / len(timed)
                base = base or mean
                rows.append([model, layout, str(result["rank_batch"]), str(result["batches"]),
                             fmt_mean_std(timed, digits=2), f"{base / mean:.2f}x"])
                print(f"done: {model} {layout}", flush=True)
    print(f"\nml-100k, {args.device}, {args.epochs - 1} timed epochs after a warm-up; "
          f"speed-up against the first layout of each model.\n")
    print(markdown_table(["model", "processes x threads", "batch a rank", "batches a rank an epoch",
                          "epoch s, mean ± std", "speed-up"], rows))


if __name__ == "__main__":
    main()
