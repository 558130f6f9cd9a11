r"""Wall time of ``recommend`` for every user of a checkpoint's dataset, with and without new items.

    .venv/bin/python run_scripts/bench_recommend.py --model-file saved/AlphaRec-....pth
        [--new-items 1000] [--topk 20] [--repeats 3] [--batch-size 256]

Loads the checkpoint once (not timed), then times ``recommend(users="all")`` ``--repeats`` times
over the known items only and, when the model scores from text, again with ``--new-items`` items
given by random unit vectors of the model's width (their content does not change the cost).
Prints a markdown table: users, items ranked, seconds (mean ± std over the repeats).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _bench_common import machine_description  # noqa: E402  (also puts the repository on sys.path)


def timed(repeats, call):
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        rows = call()
        seconds.append(time.perf_counter() - start)
    return seconds, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-file", required=True)
    parser.add_argument("--new-items", type=int, default=1000)
    parser.add_argument("--topk", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    sys.argv = sys.argv[:1]
    from recbole_darec.recommend import load_checkpoint, recommend, text_path_problem

    loaded = load_checkpoint(args.model_file)
    model, train = loaded[1], loaded[3].dataset
    cases = [("known items", None)]
    if text_path_problem(model) is None and args.new_items:
        vectors = np.random.default_rng(0).normal(size=(args.new_items, model.llm_dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        folder = tempfile.mkdtemp(prefix="bench-recommend-")
        path = os.path.join(folder, "new.npz")
        np.savez(path, tokens=np.array([f"bench-new-{i}" for i in range(args.new_items)]), vectors=vectors)
        # recommend refuses new vectors whose encoder is unrecorded when the model's are recorded;
        # these stand in for the same encoder's output, so they carry its record.
        from recbole_darec.data.dataset import DaRecDataset
        from recbole_darec.data.llm_vectors import read_sidecar
        from recbole_darec.files import atomic_write_text

        encoder = (read_sidecar(DaRecDataset.vector_files(loaded[0])[1]) or {}).get("encoder")
        if encoder:
            atomic_write_text(path + ".json", lambda f: json.dump({"encoder": encoder}, f))
        cases.append((f"known + {args.new_items} new items", path))
    print(f"{type(model).__name__} on {train.dataset_name}, top {args.topk}, {args.repeats} repeats; "
          f"{machine_description(model.device)}\n")
    print("| ranked | users | items | seconds |")
    print("|---|---|---|---|")
    for label, new_items in cases:
        seconds, rows = timed(args.repeats, lambda: recommend(loaded=loaded, topk=args.topk, batch_size=args.batch_size,
                                                             new_items=new_items))
        users = len({row[0] for row in rows})
        items = train.item_num - 1 + (args.new_items if new_items else 0)
        spread = np.std(seconds, ddof=1) if len(seconds) > 1 else 0.0
        print(f"| {label} | {users} | {items} | {np.mean(seconds):.2f} ± {spread:.2f} |")
    if len(cases) > 1:
        shutil.rmtree(os.path.dirname(cases[1][1]), ignore_errors=True)


if __name__ == "__main__":
    main()
