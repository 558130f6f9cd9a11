r"""The experiments: what ``run_scripts/`` runs, in one place.

* :mod:`.build`: config, datasets and model, in ``run_recbole``'s order.
* :mod:`.cell`: one run of one cell, resumable, its epochs counted; :mod:`.runs`: the runs files.
* :mod:`.stats`: mean ± std and the paired t-test.
* :mod:`.vectors`: the language vectors a run's own split needs.
* :mod:`.demo`, :mod:`.reproduce`, :mod:`.compare`: the demo, the grids and the claim comparison
  (``run_scripts/demo.py``, ``reproduce.py``, ``compare.py`` are their command lines);
  :mod:`.cold_start`: the cold-start metrics.

They run from a checkout: config files, datasets and results are read and written under
:data:`REPO`.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
