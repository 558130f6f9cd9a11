r"""Let RecBole find our models in any Python process, even one that never imports us.

``recbole_darec.pth`` (installed into site-packages) imports this module at interpreter start,
so it must stay outside the ``recbole_darec`` package (whose import pulls in torch and RecBole).
It is deliberately light and knows no model names: it adds a finder, consulted last, so only when
no other finder has the module. When RecBole's ``get_model`` looks for
``recbole.model.general_recommender.<name>`` and RecBole ships no such file, the finder imports
``recbole_darec``, whose registry (the one list of our models) registers everything, and answers
with the registered module, or with nothing for a name that is not ours. Ray workers and ``spawn``
children therefore resolve our models by name. RecBole's ``get_model`` looks in
``general_recommender`` first for every model, so a process that looks up one of RecBole's
sequential or context-aware models imports ``recbole_darec`` too (and with it the fixes of
``recbole_darec.compat``); an error in that import leaves the lookup to RecBole.
"""

import importlib
import importlib.abc
import sys

_PREFIX = "recbole.model.general_recommender."


class _RecBoleModelFinder(importlib.abc.MetaPathFinder):
    _loading = False

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_PREFIX) or "." in fullname[len(_PREFIX):]:
            return None
        if fullname not in sys.modules and not _RecBoleModelFinder._loading:
            _RecBoleModelFinder._loading = True
            try:
                importlib.import_module("recbole_darec")
            except Exception:  # noqa: BLE001  (a broken install must not break RecBole's own lookups)
                return None
            finally:
                _RecBoleModelFinder._loading = False
        module = sys.modules.get(fullname)
        return None if module is None else module.__spec__


def install():
    # By class name: a second copy of this module (an installed one and a working tree's) replaces the first.
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_RecBoleModelFinder"]
    sys.meta_path.append(_RecBoleModelFinder())


install()
