r"""
LLMVectorInput
################################################
The part every model of ours that reads language-model vectors shares: the aligned models
(:class:`~recbole_darec.model.llm_aligned_recommender.LLMAlignedRecommender`: DaRec, RLMRec-Con,
RLMRec-Gen) and AlphaRec, whose input they are. A mixin that goes before a RecBole general
recommender: it takes the fixed vectors ``E^L`` from the dataset (one row per internal user id,
then per internal item id; pad rows zero) into the buffer ``llm_vectors``, after checking that the
dataset was split by :class:`~recbole_darec.data.dataset.DaRecDataset`, which checks that the user
vectors were embedded from that training split.

Config keys (defaults in ``properties/model/LLMVectorInput.yaml``) are those of
:class:`~recbole_darec.data.dataset.DaRecDataset`, which reads the vectors:
    llm_vector_format, llm_user_vector_file, llm_item_vector_file, llm_missing, llm_shuffle_seed,
    llm_require_split_record, llm_user_vectors.
"""


from recbole_darec.config_checks import config_value


class LLMVectorInput:
    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        llm_vectors = getattr(dataset, "llm_vectors", None)
        if llm_vectors is None:
            raise ValueError(
                f"{type(self).__name__} needs language-model vectors, but its dataset is a "
                f"{type(dataset).__name__} without them. Import recbole_darec before RecBole "
                f"creates the dataset, so that create_dataset picks DaRecDataset."
            )
        if getattr(dataset, "train_pairs_sha256", None) is None:
            # DaRecDataset.build() gives every split part the hash its user vectors were checked
            # against; a dataset without it (never split, or split dataloaders saved by an older
            # recbole-darec) has had no leakage check.
            raise ValueError(
                f"{type(self).__name__} needs a training split built by DaRecDataset.build() (as "
                f"RecBole's data_preparation does), which checks that the user vectors were embedded "
                f"from that split; this {type(dataset).__name__} has no train_pairs_sha256. Pass "
                f"train_data.dataset, or rebuild dataloaders saved by an older recbole-darec "
                f"(delete the saved file, or set save_dataloaders: False).")
        wanted = bool(config_value(config, "llm_user_vectors", True))
        read = getattr(dataset, "reads_user_vectors", True)
        if wanted != read:
            # A dataset saved by RecBole (save_dataset) is reused whatever this key says.
            raise ValueError(
                f"{type(self).__name__}: config key llm_user_vectors is {wanted}, but its dataset was built with "
                f"{read} (a dataset saved by another run, save_dataset: True?). Delete the saved dataset file, or "
                f"set save_dataset: False.")
        self.register_buffer("llm_vectors", llm_vectors.float(), persistent=False)
        self.llm_dim = llm_vectors.shape[1]
