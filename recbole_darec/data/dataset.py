r"""
DaRecDataset
################################################
RecBole's :class:`~recbole.data.dataset.Dataset` plus the language-model vector of every user and
item, aligned to RecBole's internal ids (``llm_vectors``: users then items, pad rows zero). When
RecBole splits it (``build``), the user vectors' recorded training split is compared with the
run's (:mod:`recbole_darec.data.split_record`): vectors embedded from another split stop the run.

Config keys:
    llm_vector_format (str): ``auto`` (default): our npz files when they exist, else RecBole's
        atomic ``.useremb`` / ``.itememb`` files when ``preload_weight`` names them; ``npz`` or
        ``atomic`` to insist on one.
    llm_user_vector_file, llm_item_vector_file (str or None): npz paths, in which ``{seed}`` is
        replaced by the run's seed (one user-vector file per seed of a random split); None means
        ``{dataset}.user_llm.npz`` / ``.item_llm.npz`` in the dataset folder, or else in
        ``./dataset/{dataset}/`` (where ``python -m recbole_darec.embed`` puts RecBole's
        bundled ml-100k, whose folder is inside site-packages).
    llm_missing (str): ``error`` (default) or ``mean`` for ids without a vector.
    llm_shuffle_seed (int or None): a control, off (None) by default. An integer gives each user
        the vector of another user and each item that of another item (a permutation of the
        users' rows and one of the items', drawn from this seed): the vectors keep their
        distribution and lose their meaning, so a gain that survives it does not come from the text.
    llm_require_split_record (bool): user vectors that record no training split (no sidecar,
        e.g. brought from elsewhere) get one warning by default; True makes that an error.
    llm_user_vectors (bool): True (default) reads the user vectors; False reads the item vectors
        only and gives every user a zero row (AlphaRec, whose users are their items' mean): no
        user file is needed, and none is checked against the split.
    preload_weight, additional_feat_suffix, alias_of_user_id, alias_of_item_id: RecBole's own keys,
        read for the atomic format.
"""

import os

import numpy as np
import torch
from recbole.data.dataset import Dataset

from recbole_darec.config_checks import checked_bool, checked_choice, config_value
from recbole_darec.data.llm_vectors import (
    SEED_PLACEHOLDER,
    LLMVectorError,
    align_vectors,
    check_same_encoder,
    configured_vector_file,
    read_npz_with_sidecar,
    vectors_from_ragged_rows,
)
from recbole_darec.data.split_record import (
    NOT_READ,
    check_user_vector_split,
    dataset_train_pairs_sha256,
    read_split_record,
    split_record_of,
    split_settings,
)

VECTOR_FORMATS = ("auto", "npz", "atomic")


def shuffled_rows(user_vectors, item_vectors, seed):
    r"""Both tables with their rows permuted among users and among items (row 0, the [PAD] id,
    stays in place), both permutations drawn from one generator seeded by ``seed``."""
    generator = np.random.default_rng(seed)
    shuffled = []
    for table in (user_vectors, item_vectors):
        order = np.concatenate([[0], 1 + generator.permutation(len(table) - 1)])
        shuffled.append(table[order])
    return shuffled


class DaRecDataset(Dataset):
    def __init__(self, config):
        self._check_vector_config(config)
        # Decided before RecBole loads the features: the atomic format filters them (_remap_ID_all).
        self.vector_format = self._resolve_format(config)
        self.user_vector_source = None
        super().__init__(config)
        self.llm_vectors  # load and check now, so bad files fail at dataset creation

    def build(self):
        r"""RecBole's split, then the check that the user vectors were embedded from this training
        split: a user's text names training items only, so vectors of another split leak."""
        built = super().build()
        train_sha = dataset_train_pairs_sha256(self, built[0])
        for part in built:
            # Kept with each part: split dataloaders that RecBole saved (save_dataloaders) are
            # reloaded without a new build, and re-read the vector files, which are checked again.
            part.train_pairs_sha256 = train_sha
        self._check_split(train_sha)
        return built

    def _check_split(self, train_sha):
        if not self.reads_user_vectors:
            return  # no user vectors read, so none can name a held-out item
        check_user_vector_split(
            self.user_vector_source, self.dataset_name, split_settings(self.config), train_sha,
            config_value(self.config, "llm_require_split_record", False), self.logger,
            record=getattr(self, "user_split_record", NOT_READ),
            suggest_seed_file=not self.config["benchmark_filename"]
            and SEED_PLACEHOLDER not in str(self.config["llm_user_vector_file"] or ""))

    @property
    def llm_vectors(self):
        r"""Users then items, row = internal id. Read on first use and never pickled: a dataset
        that RecBole saved (``save_dataset``, ``save_dataloaders``) re-reads the current files,
        and a split part checks them against its split again."""
        if getattr(self, "_llm_vectors", None) is None:
            user_vectors, item_vectors = self._load_llm_vectors()
            if getattr(self, "train_pairs_sha256", None) is not None:
                self._check_split(self.train_pairs_sha256)
            if user_vectors.shape[1] != item_vectors.shape[1]:
                raise LLMVectorError(
                    f"user vectors have width {user_vectors.shape[1]} but item vectors have "
                    f"width {item_vectors.shape[1]}; DaRec needs one width for both"
                )
            seed = self.config["llm_shuffle_seed"]
            if seed is not None:
                user_vectors, item_vectors = shuffled_rows(user_vectors, item_vectors, seed)
            self._llm_vectors = torch.from_numpy(np.concatenate([user_vectors, item_vectors]))
        return self._llm_vectors

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_llm_vectors"] = None
        return state

    def __copy__(self):
        # RecBole's split copies (Dataset.copy) share the loaded vectors instead of re-reading.
        twin = self.__class__.__new__(self.__class__)
        twin.__dict__.update(self.__dict__)
        return twin

    @staticmethod
    def _check_vector_config(config):
        checked_choice("llm_vector_format", config["llm_vector_format"], VECTOR_FORMATS)
        checked_choice("llm_missing", config["llm_missing"], ("error", "mean"))
        seed = config["llm_shuffle_seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"config key llm_shuffle_seed must be ~ (off) or an integer >= 0, got {seed!r}")
        checked_bool("llm_require_split_record", config_value(config, "llm_require_split_record", False))
        checked_bool("llm_user_vectors", config_value(config, "llm_user_vectors", True))

    @staticmethod
    def _npz_candidates(config, kind):
        configured = configured_vector_file(config, kind)
        if configured:
            return [configured]
        name = f"{config['dataset']}.{kind}_llm.npz"
        return [os.path.join(config["data_path"], name), os.path.join("dataset", config["dataset"], name)]

    @classmethod
    def vector_files(cls, config):
        r"""The files a run with ``config`` reads its language vectors from (user, then item; the
        atomic files as RecBole names them), whether or not they exist yet."""
        if cls._resolve_format(config) == "atomic":
            return [os.path.join(config["data_path"], f"{config['dataset']}.{suffix}")
                    for suffix in config["additional_feat_suffix"] or []]
        files = []
        for kind in ("user", "item"):
            candidates = cls._npz_candidates(config, kind)
            files.append(next((p for p in candidates if os.path.isfile(p)), candidates[0]))
        return files

    @classmethod
    def _resolve_format(cls, config):
        requested = config["llm_vector_format"]
        if requested != "auto":
            return requested
        if configured_vector_file(config, "user") or configured_vector_file(config, "item"):
            return "npz"  # a configured npz path is meant, and a missing one is named
        npz_found = all(any(os.path.isfile(p) for p in cls._npz_candidates(config, kind)) for kind in ("user", "item"))
        # RecBole's documented convention: additional_feat_suffix + preload_weight name the vectors.
        return "atomic" if not npz_found and config["preload_weight"] else "npz"

    def _vector_path(self, kind):
        configured = configured_vector_file(self.config, kind)
        if configured and not os.path.isfile(configured) and SEED_PLACEHOLDER in str(
                self.config[f"llm_{kind}_vector_file"]):
            raise LLMVectorError(
                f"{configured}: no {kind} vectors for seed {self.config['seed']} (config key "
                f"llm_{kind}_vector_file is {self.config[f'llm_{kind}_vector_file']!r}). Embed them for this "
                f"seed's split: python -m recbole_darec.embed --dataset {self.dataset_name} "
                f"--config_files '<this run's config files>' --seed={self.config['seed']}")
        if configured:
            return configured  # read_npz_vectors names it if it is missing
        candidates = self._npz_candidates(self.config, kind)
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        if self.config["preload_weight"]:
            hint = (" config key preload_weight is set: to read the vectors it names from RecBole's atomic "
                    "files, set llm_vector_format: atomic (or auto)")
        else:
            hint = (f" Create them with `python -m recbole_darec.embed --dataset {self.dataset_name}`, set "
                    f"config key llm_{kind}_vector_file, or keep the vectors in RecBole's atomic files "
                    f"(additional_feat_suffix and preload_weight, with llm_vector_format: auto or atomic)")
        raise LLMVectorError(f"no {kind} LLM vector file: looked for {' and '.join(candidates)}.{hint}")

    def _load_llm_vectors(self):
        tables, sources = [], {}
        # A dataset pickled before these attributes existed decides now.
        self.vector_format = getattr(self, "vector_format", None) or self._resolve_format(self.config)
        for kind, id_field in (("user", self.uid_field), ("item", self.iid_field)):
            if kind == "user" and not self.reads_user_vectors:
                tables.append(None)  # zeros of the items' width, below
                continue
            if self.vector_format == "npz":
                source = self._vector_path(kind)
                tokens, vectors, meta = read_npz_with_sidecar(source)
                record = split_record_of(meta, source + ".json")
            else:
                source, tokens, vectors = self._atomic_vectors(id_field)
                record = read_split_record(source)
            if kind == "user":
                # The record read with these vectors is the one checked, even if the file changes later.
                self.user_vector_source, self.user_split_record = source, record
            sources[kind] = source
            tables.append(
                align_vectors(
                    source,
                    tokens,
                    vectors,
                    self.field2id_token[id_field],
                    self.config["llm_missing"],
                    self.logger,
                )
            )
        if tables[0] is None:
            tables[0] = np.zeros((len(self.field2id_token[self.uid_field]), tables[1].shape[1]), dtype=tables[1].dtype)
        elif self.vector_format == "npz":
            check_same_encoder(sources["user"], sources["item"])
        return tables

    @property
    def reads_user_vectors(self):
        return checked_bool("llm_user_vectors", config_value(self.config, "llm_user_vectors", True))

    def _id_aliases(self, id_field):
        alias_name = "user_id" if id_field == self.uid_field else "item_id"
        return list(self.alias.get(alias_name, [id_field]))

    def _preload_entry(self, id_field):
        r"""The ``(id field, value field)`` of ``preload_weight`` that belongs to ``id_field``."""
        for preload_id, value_field in (self.config["preload_weight"] or {}).items():
            if preload_id in self._id_aliases(id_field):
                return preload_id, value_field
        kind = "user" if id_field == self.uid_field else "item"
        raise LLMVectorError(
            f"the vectors are read from RecBole's atomic files (llm_vector_format: {self.config['llm_vector_format']}) "
            f"but config key preload_weight has no entry for the "
            f"{kind} ids (an id field listed in alias_of_{kind}_id). Add e.g. "
            f"additional_feat_suffix: [{kind}emb], load_col: {{{kind}emb: [{kind[0]}id, {kind}_emb]}}, "
            f"alias_of_{kind}_id: [{kind[0]}id], preload_weight: {{{kind[0]}id: {kind}_emb}}"
        )

    def _atomic_vectors(self, id_field):
        preload_id, value_field = self._preload_entry(id_field)
        source = self.field2source[preload_id]
        feat = getattr(self, f"{source}_feat")
        path = os.path.join(self.dataset_path, f"{self.dataset_name}.{source}")
        tokens = np.asarray(self.field2id_token[preload_id])[feat[preload_id].to_numpy()]
        vectors = vectors_from_ragged_rows(path, tokens, feat[value_field].to_list())
        return path, tokens, vectors

    def _remap_ID_all(self):
        self._drop_vectors_of_unknown_ids()
        super()._remap_ID_all()

    def _drop_vectors_of_unknown_ids(self):
        r"""Before ids are remapped, drop vector rows whose token never occurs in the
        interactions: with RecBole's alias mechanism they would otherwise become phantom users or
        items that appear in every full ranking."""
        if self.vector_format != "atomic":
            return
        for id_field in (self.uid_field, self.iid_field):
            known = set(self.inter_feat[id_field].to_numpy())
            for preload_id in self.config["preload_weight"] or {}:
                source = self.field2source.get(preload_id)
                if preload_id == id_field or preload_id not in self._id_aliases(id_field):
                    continue
                feat = getattr(self, f"{source}_feat")
                keep = feat[preload_id].isin(known)
                if not keep.all():
                    self.logger.info(
                        f"{self.dataset_name}.{source}: ignored {int((~keep).sum())} vector(s) "
                        f"of ids absent from the interactions"
                    )
                    setattr(self, f"{source}_feat", feat[keep].reset_index(drop=True))
