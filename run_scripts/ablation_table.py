r"""DaRec's ablations on one backbone as one table, from a compare.py runs file.

    .venv/bin/python run_scripts/ablation_table.py --runs results/claim-simgcl-cl.runs.csv --dataset steam
        --backbone SimGCL [--base base] [--con con:con_negatives=batch] [--full darec:darec_interval=10]

Each ablation row (no_disentangle, no_uniformity, no_orthogonal, no_local, no_global, hungarian,
with the full row's settings): R@20 / N@20 mean ± std over seeds 1 2 3, and its relative
difference (paired t-test p) against full DaRec, the backbone and RLMRec-Con. Prints markdown; in
a docs page, the same table is a generated block (``ablation ...``, recbole_darec.experiments.pages).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's package

from recbole_darec.experiments.tables import ablation_table  # noqa: E402

if __name__ == "__main__":
    print(ablation_table(sys.argv[1:]))
