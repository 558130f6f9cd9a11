r"""Sweep a RecBole model's settings with Ray Tune (see recbole_darec/tune/sweep.py and docs/tune.md).

    python run_scripts/tune.py --model DaRecLightGCN --dataset ml-100k --config properties/ml-100k-demo.yaml
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from recbole_darec.tune import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
