r"""recbole-darec: DaRec (arXiv 2408.08231), and RLMRec-Con / -Gen and AlphaRec to compare it with, as RecBole models.

``import recbole_darec`` makes RecBole 1.2.1 work on current torch/scipy/numpy/pandas and
registers every model of this package, so RecBole's own ``run_recbole``,
``objective_function`` and ``load_data_and_model`` find them by name.
"""

from recbole_darec import compat

compat.apply()

from recbole_darec.registry import MODEL_MODULES, register_model, register_models  # noqa: E402

register_models()

from recbole_darec.data.dataset import DaRecDataset  # noqa: E402
from recbole_darec.model.alpharec import AlphaRec  # noqa: E402
from recbole_darec.model.darec_recommender import DaRecRecommender  # noqa: E402
from recbole_darec.model.darecbpr import DaRecBPR  # noqa: E402
from recbole_darec.model.dareclightgcn import DaRecLightGCN  # noqa: E402
from recbole_darec.model.darecngcf import DaRecNGCF  # noqa: E402
from recbole_darec.model.darecsgl import DaRecSGL  # noqa: E402
from recbole_darec.model.darecsimgcl import DaRecSimGCL  # noqa: E402
from recbole_darec.model.lightgcncon import LightGCNCon  # noqa: E402
from recbole_darec.model.lightgcngen import LightGCNGen  # noqa: E402
from recbole_darec.model.llm_aligned_recommender import LLMAlignedRecommender  # noqa: E402
from recbole_darec.model.llm_vector_input import LLMVectorInput  # noqa: E402
from recbole_darec.model.rlmrec_con_recommender import RLMRecConRecommender  # noqa: E402
from recbole_darec.model.rlmrec_gen_recommender import RLMRecGenRecommender  # noqa: E402
from recbole_darec.model.sglcon import SGLCon  # noqa: E402
from recbole_darec.model.sglgen import SGLGen  # noqa: E402
from recbole_darec.model.simgcl import SimGCL  # noqa: E402
from recbole_darec.model.simgclcon import SimGCLCon  # noqa: E402
from recbole_darec.model.simgclgen import SimGCLGen  # noqa: E402
from recbole_darec.trainer import DaRecTrainer  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "DaRecDataset", "DaRecRecommender", "DaRecTrainer", "MODEL_MODULES", "register_model",
    "SimGCL", "DaRecLightGCN", "DaRecSGL", "DaRecSimGCL", "DaRecBPR", "DaRecNGCF",
    "AlphaRec", "LLMVectorInput", "LLMAlignedRecommender", "RLMRecConRecommender", "RLMRecGenRecommender",
    "LightGCNCon", "LightGCNGen", "SGLCon", "SGLGen", "SimGCLCon", "SimGCLGen",
]
