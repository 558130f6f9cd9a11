r"""Loading LLM vectors: our npz format vs RecBole's atomic text format.

    .venv/bin/python run_scripts/bench_vectors.py [--rows 20000] [--dim 1536] [--repeats 3] [--skip-atomic]

Times reading + checking + aligning to RecBole's ids (read_npz_vectors + align_vectors), and, for
comparison, RecBole's own parsing of the same table as an ``.itememb`` float_seq file
(``Dataset._load_feat``), which is what the ``atomic`` format costs. Prints a markdown table.
"""

import argparse
import os
import sys
import resource
import tempfile
import time

import numpy as np

# The working tree's recbole_darec, not an older installed copy.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from recbole_darec.experiments.stats import fmt_mean_std  # noqa: E402

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=1536)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-atomic", action="store_true")
    args = parser.parse_args()

    import recbole_darec  # noqa: F401
    from recbole_darec.data.llm_vectors import align_vectors, read_npz_vectors, write_npz_vectors

    rng = np.random.default_rng(0)
    tokens = np.array([f"item{i}" for i in range(args.rows)])
    vectors = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    id_tokens = ["[PAD]"] + list(rng.permutation(tokens))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.item_llm.npz")
        write_npz_vectors(path, tokens, vectors)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            read_tokens, read_vectors = read_npz_vectors(path)
            align_vectors(path, read_tokens, read_vectors, id_tokens)
            times.append(time.perf_counter() - start)
        rows.append(("npz (ours): read + check + align", times, os.path.getsize(path)))

        if not args.skip_atomic:
            from recbole.data.dataset import Dataset

            text_path = os.path.join(folder, "bench.itememb")
            with open(text_path, "w") as f:
                f.write("iid:token\titem_emb:float_seq\n")
                for token, row in zip(tokens, vectors):
                    f.write(token + "\t" + " ".join(f"{x:.6g}" for x in row) + "\n")
            stub = Dataset.__new__(Dataset)
            stub.config = {"field_separator": "\t", "seq_separator": " ", "encoding": "utf-8",
                           "load_col": None, "unload_col": None, "numerical_features": [],
                           "seq_len": None}
            stub.field2type, stub.field2source, stub.field2seqlen, stub.field2bucketnum = {}, {}, {}, {}
            stub.dataset_name, stub.logger = "bench", __import__("logging").getLogger()
            times = []
            start = time.perf_counter()
            stub._load_feat(text_path, "itememb")
            times.append(time.perf_counter() - start)
            rows.append(("RecBole atomic .itememb (_load_feat parse only)", times, os.path.getsize(text_path)))

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{args.rows:,} x {args.dim:,} float32 vectors, {os.cpu_count()} CPU cores\n")
    print("| path | seconds (mean ± std) | runs | file size |")
    print("|---|---|---|---|")
    for name, times, size in rows:
        print(f"| {name} | {fmt_mean_std(times, digits=2)} | {len(times)} | {size / 2**20:.0f} MiB |")
    print(f"\npeak RSS of this process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
