r"""recbole-darec: DaRec (arXiv 2408.08231), and RLMRec-Con / -Gen and AlphaRec to compare it with, as RecBole models.

``import recbole_darec`` makes RecBole 1.2.1 work on current torch/scipy/numpy/pandas and
registers every model of this package, so RecBole's own ``run_recbole``,
``objective_function`` and ``load_data_and_model`` find them by name. Each model class is an
attribute of this package (``from recbole_darec import DaRecLightGCN``); the list of them is
:data:`recbole_darec.registry.MODEL_MODULES`.
"""

try:
    import recbole  # noqa: F401
except ImportError as error:
    raise ImportError(
        "recbole_darec needs RecBole 1.2.1, installed without its own requirements (they cap ray at "
        "2.6.3, which has no wheel past Python 3.11): pip install --no-deps recbole==1.2.1 "
        "(docs/install.md)") from error

from recbole_darec import compat  # noqa: E402

compat.apply()

from recbole_darec.registry import MODEL_MODULES, register_model, register_models  # noqa: E402

_MODELS = register_models()
globals().update(_MODELS)

# The building blocks a user composes a model of their own from (docs/models.md).
from recbole_darec.data.dataset import DaRecDataset  # noqa: E402
from recbole_darec.model.darec_recommender import DaRecRecommender  # noqa: E402
from recbole_darec.model.llm_aligned_recommender import LLMAlignedRecommender  # noqa: E402
from recbole_darec.model.llm_vector_input import LLMVectorInput  # noqa: E402
from recbole_darec.model.rlmrec_con_recommender import RLMRecConRecommender  # noqa: E402
from recbole_darec.model.rlmrec_gen_recommender import RLMRecGenRecommender  # noqa: E402
from recbole_darec.trainer import DaRecTrainer  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "DaRecDataset", "DaRecRecommender", "DaRecTrainer", "LLMAlignedRecommender", "LLMVectorInput",
    "RLMRecConRecommender", "RLMRecGenRecommender", "MODEL_MODULES", "register_model", *_MODELS,
]
