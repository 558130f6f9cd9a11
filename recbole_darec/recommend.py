r"""Top-K recommendations from a saved RecBole checkpoint, with the dataset's own user and item ids.

    python -m recbole_darec.recommend --model-file saved/LightGCN-Dec-07-2026_10-00-00.pth
        [--users all|FILE] [--topk 20] [--exclude train|train_valid] [--batch-size 256]
        --output recs.csv

Writes ``user_id,rank,item_id,score`` rows (the original tokens of the dataset's atomic files, rank
1 = best), one per user and rank, to a temporary file renamed into place when complete. Each
user's history is excluded: the training items (``--exclude train``) or the training and
validation items (``train_valid``, the default, what RecBole's test ranking masks). ``--users`` is
``all`` (every user with a training interaction) or a file of user tokens, one per line; an
unknown token stops the command, naming the first few.

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


def _history(datasets, n_users, n_items):
    r"""A (users x items) sparse matrix of the items each user interacted with in ``datasets``
    (sparse: a dense mask of every user and item would not fit the larger datasets)."""
    import scipy.sparse as sp

    users = np.concatenate([dataset.inter_feat[dataset.uid_field].numpy() for dataset in datasets])
    items = np.concatenate([dataset.inter_feat[dataset.iid_field].numpy() for dataset in datasets])
    return sp.csr_matrix((np.ones(len(users), dtype=bool), (users, items)), shape=(n_users, n_items))


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


def top_k(model, train_dataset, excluded, users, k, batch_size=256, progress=False):
    r"""``(user ids, item ids (users x k), scores (users x k))``: each user's ``k`` best items by
    ``model.full_sort_predict``, with the [PAD] item and the items of row ``user`` of the sparse
    ``excluded`` never chosen."""
    import torch
    from recbole.data.interaction import Interaction
    from tqdm import tqdm

    n_items = train_dataset.item_num
    if not 0 < k < n_items:
        raise RecommendError(f"topk must be between 1 and {n_items - 1} (the items of the dataset), got {k}")
    model.eval()
    users = torch.as_tensor(users, dtype=torch.long)
    items, scores = [], []
    starts = range(0, len(users), batch_size)
    with torch.no_grad():
        for start in tqdm(starts, desc="users", unit="batch", disable=not progress):
            batch = users[start:start + batch_size]
            interaction = Interaction({train_dataset.uid_field: batch}).to(model.device)
            batch_scores = model.full_sort_predict(interaction).view(len(batch), n_items).float().cpu()
            batch_scores[:, 0] = -torch.inf
            seen = excluded[batch.numpy()].tocoo()
            batch_scores[torch.from_numpy(seen.row).long(), torch.from_numpy(seen.col).long()] = -torch.inf
            best = torch.topk(batch_scores, k, dim=1)
            items.append(best.indices)
            scores.append(best.values)
    return users, torch.cat(items), torch.cat(scores)


def recommend(model_file=None, *, users="all", topk=20, exclude="train_valid", batch_size=256, loaded=None,
              progress=False):
    r"""Rows ``(user token, rank, item token, score)`` of each user's top ``topk`` items.

    ``model_file`` is a checkpoint RecBole saved; ``loaded`` instead takes what
    ``recbole.quick_start.load_data_and_model`` returned, for code that serves from memory."""
    if exclude not in EXCLUDE:
        raise RecommendError(f"exclude must be one of {EXCLUDE}, got {exclude!r}")
    if loaded is None:
        loaded = load_checkpoint(model_file)
    _, model, dataset, train_data, valid_data, _ = loaded
    train = train_data.dataset
    history = [train] + ([valid_data.dataset] if exclude == "train_valid" else [])
    excluded = _history(history, train.user_num, train.item_num)
    ids, items, scores = top_k(model, train, excluded, user_ids(train, users), topk, batch_size, progress)
    user_tokens = train.field2id_token[train.uid_field]
    item_tokens = train.field2id_token[train.iid_field]
    rows = []
    for user, user_items, user_scores in zip(ids.tolist(), items.tolist(), scores.tolist()):
        for rank, (item, score) in enumerate(zip(user_items, user_scores), start=1):
            if score == -np.inf:
                break  # fewer than topk items left once the history is excluded
            rows.append((str(user_tokens[user]), rank, str(item_tokens[item]), score))
    return rows


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
    parser.add_argument("--output", required=True, help="the CSV to write")
    args = parser.parse_args(argv)
    sys.argv = sys.argv[:1]  # RecBole's Config parses the command line; keep ours out of it
    try:
        users = args.users if args.users == "all" else read_user_tokens(args.users)
        rows = recommend(args.model_file, users=users, topk=args.topk, exclude=args.exclude,
                         batch_size=args.batch_size, progress=True)
        write_csv(args.output, rows)
    except RecommendError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"{args.output}: {len(rows)} rows, {len({r[0] for r in rows})} users")


if __name__ == "__main__":
    main()
