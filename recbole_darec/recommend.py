r"""Top-K recommendations from a saved RecBole checkpoint, with the dataset's own user and item ids.

    python -m recbole_darec.recommend --model-file saved/LightGCN-Dec-07-2026_10-00-00.pth
        [--users all|FILE] [--topk 20] [--exclude train|train_valid] [--batch-size 256]
        [--new-items VECTORS.npz | --new-items-features NEW.item] --output recs.csv

Writes ``user_id,rank,item_id,score`` rows (the original tokens of the dataset's atomic files, rank
1 = best), one per user and rank, to a temporary file renamed into place when complete. Each
user's history is excluded: the training items (``--exclude train``) or the training and
validation items (``train_valid``, the default, what RecBole's test ranking masks). ``--users`` is
``all`` (every user with a training interaction) or a file of user tokens, one per line; an
unknown token stops the command, naming the first few. ``--new-items`` ranks items unseen in
training beside the known ones, from their vectors, for a model that can score from text
(AlphaRec, RLMRec-Con, DaRec with ``darec_score: fused``); any other model is refused, named.

:func:`recommend` does the same from Python, on a checkpoint or on a model already in memory.
Works for any RecBole general recommender with ``full_sort_predict`` (ours and RecBole's).
"""

import argparse
import os
import sys

import numpy as np

from recbole_darec.files import atomic_write_text

EXCLUDE = ("train", "train_valid")


class RecommendError(ValueError):
    r"""Bad input to :func:`recommend`: the message names the file or argument and what was expected."""


def history_matrix(datasets, n_users, n_items):
    r"""A (users x items) sparse matrix of the items each user interacted with in ``datasets``
    (sparse: a dense mask of every user and item would not fit the larger datasets)."""
    import scipy.sparse as sp

    users = np.concatenate([dataset.inter_feat[dataset.uid_field].numpy() for dataset in datasets])
    items = np.concatenate([dataset.inter_feat[dataset.iid_field].numpy() for dataset in datasets])
    return sp.csr_matrix((np.ones(len(users), dtype=bool), (users, items)), shape=(n_users, n_items))


def mask_seen(scores, excluded, users):
    r"""Set ``scores`` (len(users) x items, on the CPU) to -inf at the [PAD] item and at the items of
    each user's row of the sparse ``excluded``; in place."""
    import torch

    scores[:, 0] = -torch.inf
    seen = excluded[users.cpu().numpy()].tocoo()
    scores[torch.from_numpy(seen.row).long(), torch.from_numpy(seen.col).long()] = -torch.inf
    return scores


def read_user_tokens(path):
    r"""User tokens from ``path``, one per line (blank lines skipped)."""
    try:
        with open(path, encoding="utf-8") as f:
            tokens = [line.strip() for line in f if line.strip()]
    except OSError as error:
        raise RecommendError(f"--users {path}: cannot read it ({error.strerror})") from None
    if not tokens:
        raise RecommendError(f"--users {path}: no user token in it (expected one per line)")
    return tokens


def user_ids(dataset, users):
    r"""Internal ids of ``users``: ``"all"`` (every user with a training interaction, in id order)
    or a list of the dataset's user tokens (repeats kept once, in the given order)."""
    if isinstance(users, str):
        if users != "all":
            raise RecommendError(f"users must be 'all' or a list of user tokens, got {users!r}")
        return sorted(set(dataset.inter_feat[dataset.uid_field].tolist()))
    token_to_id = dataset.field2token_id[dataset.uid_field]
    tokens = list(dict.fromkeys(str(token) for token in users))
    unknown = [token for token in tokens if token not in token_to_id or token == "[PAD]"]
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise RecommendError(f"{len(unknown)} user token(s) not in dataset {dataset.dataset_name}: {shown}")
    return [token_to_id[token] for token in tokens]


def top_k(model, train_dataset, excluded, users, k, batch_size=256, progress=False, new_vectors=None):
    r"""``(user ids, item ids (users x k), scores (users x k))``: each user's ``k`` best items by
    ``model.full_sort_predict``, with the [PAD] item and the items of row ``user`` of the sparse
    ``excluded`` never chosen. With ``new_vectors`` (N x d_L), N items unseen in training compete
    too, scored by ``model.scores_from_text``; they get ids ``item_num .. item_num + N - 1``."""
    import torch
    from recbole.data.interaction import Interaction
    from tqdm import tqdm

    n_items = train_dataset.item_num
    n_candidates = n_items - 1 + (0 if new_vectors is None else len(new_vectors))
    if not 0 < k <= n_candidates:
        raise RecommendError(f"topk must be between 1 and {n_candidates} (the items to rank), got {k}")
    was_training = model.training
    model.eval()
    users = torch.as_tensor(users, dtype=torch.long)
    items, scores = [], []
    starts = range(0, len(users), batch_size)
    with torch.no_grad():
        for start in tqdm(starts, desc="users", unit="batch", disable=not progress):
            batch = users[start:start + batch_size]
            interaction = Interaction({train_dataset.uid_field: batch}).to(model.device)
            batch_scores = model.full_sort_predict(interaction).view(len(batch), n_items).float().cpu()
            mask_seen(batch_scores, excluded, batch)
            if new_vectors is not None:
                new_scores = model.scores_from_text(batch.to(model.device), new_vectors.to(model.device))
                batch_scores = torch.cat([batch_scores, new_scores.float().cpu()], dim=1)
            best = torch.topk(batch_scores, k, dim=1)
            items.append(best.indices)
            scores.append(best.values)
    model.train(was_training)  # a model served from memory is left as it was given
    return users, torch.cat(items), torch.cat(scores)


def recommend(model_file=None, *, users="all", topk=20, exclude="train_valid", batch_size=256, loaded=None,
              new_items=None, new_item_features=None, progress=False):
    r"""Rows ``(user token, rank, item token, score)`` of each user's top ``topk`` items.

    ``model_file`` is a checkpoint RecBole saved; ``loaded`` instead takes what
    ``recbole.quick_start.load_data_and_model`` returned, for code that serves from memory.
    ``new_items``: an npz of vectors (``tokens``, ``vectors``, as ``python -m recbole_darec.embed``
    writes them) of items unseen in training, ranked beside the known ones by a model that scores
    from text (:meth:`~recbole_darec.model.llm_vector_input.LLMVectorInput.item_rows_from_text`).
    ``new_item_features``: instead, a RecBole atomic item file of new items, whose texts are
    rendered and encoded as the model's item vectors were (the sidecar's fields and encoder)."""
    if exclude not in EXCLUDE:
        raise RecommendError(f"exclude must be one of {EXCLUDE}, got {exclude!r}")
    if loaded is None:
        loaded = load_checkpoint(model_file)
    config, model, dataset, train_data, valid_data, _ = loaded
    train = train_data.dataset
    new_tokens, new_vectors = [], None
    if new_items is not None and new_item_features is not None:
        raise RecommendError("give new items as vectors (--new-items) or as features (--new-items-features), not both")
    if new_items is not None:
        new_tokens, new_vectors = read_new_items(new_items, config, model, train)
    elif new_item_features is not None:
        new_tokens, new_vectors = read_new_items(new_item_features, config, model, train, features=True)
    history = [train] + ([valid_data.dataset] if exclude == "train_valid" else [])
    excluded = history_matrix(history, train.user_num, train.item_num)
    ids, items, scores = top_k(model, train, excluded, user_ids(train, users), topk, batch_size, progress,
                               new_vectors)
    user_tokens = train.field2id_token[train.uid_field]
    item_tokens = list(train.field2id_token[train.iid_field]) + list(new_tokens)
    rows = []
    for user, user_items, user_scores in zip(ids.tolist(), items.tolist(), scores.tolist()):
        for rank, (item, score) in enumerate(zip(user_items, user_scores), start=1):
            if score == -np.inf:
                break  # fewer than topk items left once the history is excluded
            rows.append((str(user_tokens[user]), rank, str(item_tokens[item]), score))
    return rows


def text_path_problem(model):
    r"""Why ``model`` cannot rank an item from its vector alone, or None when it can."""
    if not callable(getattr(model, "item_rows_from_text", None)):
        return (f"{type(model).__name__} reads no language vectors: an ID model has no row for an item it "
                f"never trained (models with a text path: AlphaRec, the RLMRec-Con models, DaRec with "
                f"darec_score: fused)")
    reason = model.no_text_path
    return None if reason is None else f"{type(model).__name__} cannot score an item from its text: {reason}"


def encode_new_items(path, config):
    r"""``(tokens, vectors)`` of the items of the RecBole atomic item file ``path``, their texts
    rendered and encoded as ``python -m recbole_darec.embed`` did for the model's item vectors (the
    fields and the encoder recorded in that file's sidecar)."""
    from recbole_darec.data.dataset import DaRecDataset
    from recbole_darec.data.llm_vectors import read_sidecar
    from recbole_darec.embed import TextEncoder, encoder_digest
    from recbole_darec.text import item_texts, read_atomic_file, table_texts

    vector_file = DaRecDataset.vector_files(config)[1]
    meta = read_sidecar(vector_file) or {}
    encoder, fields = meta.get("encoder") or {}, (meta.get("fields") or {}).get("item")
    if not encoder.get("path") or fields is None:
        raise RecommendError(f"--new-items-features {path}: the model's item vectors {vector_file} record no "
                             f"encoder and fields (no sidecar from python -m recbole_darec.embed), so it is unknown "
                             f"how to turn text into their kind of vector; give --new-items vectors instead")
    if not os.path.isdir(encoder["path"]) or encoder_digest(encoder["path"]) != encoder.get("files_sha256"):
        raise RecommendError(f"--new-items-features {path}: the encoder that made {vector_file} is no longer at "
                             f"{encoder['path']} as it was (missing or changed files)")
    iid = config["ITEM_ID_FIELD"]
    try:
        types, frame = read_atomic_file(path)
    except (OSError, ValueError) as error:
        raise RecommendError(f"--new-items-features {path}: not a readable atomic item file ({error})") from None
    missing = [name for name in [iid, *fields] if name not in types]
    if missing:
        raise RecommendError(f"--new-items-features {path}: no field(s) {missing}; the model's item texts were "
                             f"made from {iid} and {fields}")
    tokens = frame[iid].astype(str).str.strip().tolist()
    texts = item_texts(tokens, table_texts(frame, types, iid, fields, config["seq_separator"] or " "), iid)
    vectors = TextEncoder(encoder["path"], device="cpu", max_length=encoder.get("max_length")).encode(texts)
    return np.asarray(tokens), vectors


def read_new_items(path, config, model, train, features=False):
    r"""``(tokens, vectors as a float tensor)`` of the new items in the npz ``path`` (or, with
    ``features``, the atomic item file ``path`` encoded as the model's item vectors were), checked
    against the model (a text path, the width and encoder of its vectors) and the dataset (new tokens)."""
    import torch

    from recbole_darec.data.dataset import DaRecDataset
    from recbole_darec.data.llm_vectors import (
        LLMVectorError,
        check_same_encoder,
        check_vectors,
        read_npz_with_sidecar,
        read_sidecar,
    )

    option = "--new-items-features" if features else "--new-items"
    problem = text_path_problem(model)
    if problem:
        raise RecommendError(f"{option} {path}: {problem}")
    try:
        if features:
            tokens, vectors = encode_new_items(path, config)
            vectors = check_vectors(path, tokens, vectors)
        else:
            tokens, vectors, meta = read_npz_with_sidecar(path)  # NaN, duplicate tokens, shape: refused here
            model_vectors = DaRecDataset.vector_files(config)[1]
            model_meta = read_sidecar(model_vectors) or {}
            if model_meta.get("encoder") and not (meta or {}).get("encoder"):
                raise RecommendError(
                    f"{option} {path}: no sidecar records its encoder, while the model's item vectors "
                    f"{model_vectors} were made by {model_meta['encoder'].get('name') or model_meta['encoder'].get('path')}; "
                    f"vectors of another encoder of the same width would be ranked silently. Make them with "
                    f"python -m recbole_darec.embed, or give --new-items-features")
            check_same_encoder(path, model_vectors)
    except LLMVectorError as error:
        raise RecommendError(f"{option}: {error}") from None
    if vectors.shape[1] != model.llm_dim:
        raise RecommendError(f"{option} {path}: vectors of width {vectors.shape[1]}, but "
                             f"{type(model).__name__} was trained on vectors of width {model.llm_dim}")
    known = train.field2token_id[train.iid_field]
    clash = [str(t) for t in tokens if str(t) in known]
    if clash:
        raise RecommendError(f"{option} {path}: {len(clash)} token(s) are items the dataset already has, e.g. "
                             f"{', '.join(repr(t) for t in clash[:5])}; new items need new tokens")
    return [str(t) for t in tokens], torch.from_numpy(vectors)


def load_checkpoint(model_file):
    r"""``load_data_and_model(model_file)``, with a message that names the file when it is missing,
    not a RecBole checkpoint, or does not fit the dataset its config points to now."""
    import torch

    import recbole_darec  # noqa: F401  (our models resolve by name)
    from recbole.quick_start import load_data_and_model

    if not os.path.isfile(model_file or ""):
        raise RecommendError(f"--model-file {model_file}: no such file")
    checkpoint = torch.load(model_file, map_location="cpu", weights_only=False)
    if not isinstance(checkpoint, dict) or "config" not in checkpoint or "state_dict" not in checkpoint:
        raise RecommendError(f"--model-file {model_file}: not a checkpoint saved by RecBole's trainer "
                             f"(expected a dict with 'config' and 'state_dict')")
    try:
        return load_data_and_model(model_file)
    except RuntimeError as error:
        if "size mismatch" not in str(error):
            raise
        config = checkpoint["config"]
        raise RecommendError(
            f"--model-file {model_file}: its tables do not fit dataset {config['dataset']} as it is now at "
            f"{config['data_path']} (another dataset, or its files changed since training): "
            f"{str(error).splitlines()[1].strip() if len(str(error).splitlines()) > 1 else error}") from None


def write_csv(path, rows):
    r"""``user_id,rank,item_id,score`` rows to ``path``, through a temporary file renamed into place."""
    lines = ["user_id,rank,item_id,score"]
    for user, rank, item, score in rows:
        lines.append(f"{_csv_field(user)},{rank},{_csv_field(item)},{score:.6g}")
    text = "\n".join(lines) + "\n"
    atomic_write_text(path, lambda f: f.write(text))


def _csv_field(token):
    return '"' + token.replace('"', '""') + '"' if any(c in token for c in ',"\n') else token


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recbole_darec.recommend", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-file", required=True, help="a checkpoint RecBole saved (saved/<Model>-<date>.pth)")
    parser.add_argument("--users", default="all", help="'all' or a file of user tokens, one per line")
    parser.add_argument("--topk", type=int, default=20)
    parser.add_argument("--exclude", choices=EXCLUDE, default="train_valid")
    parser.add_argument("--batch-size", type=int, default=256, help="users scored at once")
    parser.add_argument("--new-items", help="npz of vectors (tokens, vectors) of items unseen in training, "
                                            "ranked beside the known ones by a model that scores from text")
    parser.add_argument("--new-items-features", help="a RecBole atomic item file of new items (the fields the "
                                                     "model's item texts were made from), encoded as those were")
    parser.add_argument("--output", required=True, help="the CSV to write")
    args = parser.parse_args(argv)
    sys.argv = sys.argv[:1]  # RecBole's Config parses the command line; keep ours out of it
    try:
        users = args.users if args.users == "all" else read_user_tokens(args.users)
        rows = recommend(args.model_file, users=users, topk=args.topk, exclude=args.exclude,
                         batch_size=args.batch_size, new_items=args.new_items,
                         new_item_features=args.new_items_features, progress=True)
        write_csv(args.output, rows)
    except RecommendError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"{args.output}: {len(rows)} rows, {len({r[0] for r in rows})} users")


if __name__ == "__main__":
    main()
