r"""Let RecBole find our models in any Python process, even one that never imports us.

``recbole_darec.pth`` (installed into site-packages) imports this module at interpreter start,
so it must stay outside the ``recbole_darec`` package (whose import pulls in torch and RecBole).
It is deliberately light: it only adds a finder that, when RecBole's ``get_model`` looks for
``recbole.model.general_recommender.<one of our model names>``, imports ``recbole_darec``, which
registers everything. Ray workers and ``spawn`` children therefore resolve our models by name.
"""

import importlib
import importlib.abc
import sys

# name -> module; the single list of the models this package registers into RecBole.
MODEL_MODULES = {
    "SimGCL": "recbole_darec.model.simgcl",
    "RLMRecLightGCN": "recbole_darec.model.rlmreclightgcn",
    "RLMRecSGL": "recbole_darec.model.rlmrecsgl",
    "DaRecLightGCN": "recbole_darec.model.dareclightgcn",
    "DaRecSGL": "recbole_darec.model.darecsgl",
    "DaRecSimGCL": "recbole_darec.model.darecsimgcl",
    "DaRecBPR": "recbole_darec.model.darecbpr",
    "DaRecNGCF": "recbole_darec.model.darecngcf",
    "LightGCNCon": "recbole_darec.model.lightgcncon",
    "LightGCNGen": "recbole_darec.model.lightgcngen",
    "SGLCon": "recbole_darec.model.sglcon",
    "SGLGen": "recbole_darec.model.sglgen",
    "SimGCLCon": "recbole_darec.model.simgclcon",
    "SimGCLGen": "recbole_darec.model.simgclgen",
    "AlphaRec": "recbole_darec.model.alpharec",
}

_PREFIX = "recbole.model.general_recommender."
_LOWER_NAMES = {name.lower() for name in MODEL_MODULES}


class _RecBoleModelFinder(importlib.abc.MetaPathFinder):
    _loading = False

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_PREFIX) or fullname[len(_PREFIX):] not in _LOWER_NAMES:
            return None
        if _RecBoleModelFinder._loading:
            return None
        _RecBoleModelFinder._loading = True
        try:
            importlib.import_module("recbole_darec")
        finally:
            _RecBoleModelFinder._loading = False
        module = sys.modules.get(fullname)
        return None if module is None else module.__spec__


def install():
    # By class name: a second copy of this module (see recbole_darec.registry) replaces the first.
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_RecBoleModelFinder"]
    sys.meta_path.insert(0, _RecBoleModelFinder())


install()
