r"""Cold-start evaluation: Recall@K and NDCG@K on the cold items, on the warm items and on all.

An item is *cold* when it has no training interaction (a cold split puts a share of the items
there: ``python -m recbole_darec.datasets cold``). Every test user gets one full ranking over all
items, with its training and validation items masked (RecBole's test rule) and the [PAD] item
never ranked; a model with a text path (``item_rows_from_text``, the interface ``recommend
--new-items`` uses) scores the cold items from their language vectors, any other model with the
rows it has for them (untrained ID rows). From that one top-K list, for each user:

* ``all``: the user's test items are the ground truth (RecBole's own test metric for a model
  without a text path; a model with one ranked its cold items with ``full_sort_predict`` during
  validation and early stopping, and with the text path here);
* ``cold`` / ``warm``: only the user's cold / warm test items are;

Recall@K = hits in the top K / size of the ground truth; NDCG@K = sum over the hits of
1 / log2(rank + 1), over the same sum for the ground truth placed first (at most K of it). Each
is averaged over the users whose ground truth is not empty, so ``cold`` averages over the users
with a cold test item.
"""

import numpy as np
import torch
from recbole.data.interaction import Interaction

from recbole_darec.protocol import training_items
from recbole_darec.recommend import history_matrix, mask_seen, text_path_problem


def cold_items(train_dataset):
    r"""Internal ids of the items with no training interaction ([PAD] excluded)."""
    return np.setdiff1d(np.arange(1, train_dataset.item_num), training_items(train_dataset))


def text_path(model):
    r"""Whether ``model`` scores items from their language vectors alone."""
    return text_path_problem(model) is None


def ranking_metrics(top, truth, k):
    r"""(recall, ndcg) of one user's top list ``top`` (item ids, best first) against the set
    ``truth``; None when ``truth`` is empty."""
    if not truth:
        return None
    gains = [1 / np.log2(rank + 2) for rank, item in enumerate(top[:k]) if item in truth]
    ideal = sum(1 / np.log2(rank + 2) for rank in range(min(len(truth), k)))
    return len(gains) / len(truth), sum(gains) / ideal


def cold_warm_all(model, train_data, valid_data, test_data, k=20, batch_size=256):
    r"""``{"cold": {"recall@K", "ndcg@K", "users"}, "warm": ..., "all": ..., "text_path": bool}`` on
    the test split; ``text_path``: whether the cold items were scored through the text path."""
    train, valid, test = train_data.dataset, valid_data.dataset, test_data.dataset
    uid, iid, n_items = train.uid_field, train.iid_field, train.item_num
    cold = cold_items(train)
    cold_set = set(cold.tolist())
    truth = {}
    for user, item in zip(test.inter_feat[uid].tolist(), test.inter_feat[iid].tolist()):
        truth.setdefault(user, set()).add(item)
    seen = history_matrix((train, valid), train.user_num, n_items)
    use_text = text_path(model) and len(cold)
    if use_text:
        cold_vectors = model.llm_vectors[model.n_users + torch.as_tensor(cold, device=model.llm_vectors.device)]
    sums = {kind: [0.0, 0.0, 0] for kind in ("cold", "warm", "all")}
    users = sorted(truth)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(users), batch_size):
            batch = torch.as_tensor(users[start:start + batch_size], device=model.device)
            scores = model.full_sort_predict(Interaction({uid: batch})).view(len(batch), n_items).float().cpu()
            if use_text:
                scores[:, torch.as_tensor(cold)] = model.scores_from_text(batch, cold_vectors).float().cpu()
            mask_seen(scores, seen, batch)
            tops = torch.topk(scores, k, dim=1).indices.cpu().tolist()
            for user, top in zip(batch.tolist(), tops):
                subsets = {"all": truth[user], "cold": truth[user] & cold_set, "warm": truth[user] - cold_set}
                for kind, subset in subsets.items():
                    found = ranking_metrics(top, subset, k)
                    if found is not None:
                        sums[kind][0] += found[0]
                        sums[kind][1] += found[1]
                        sums[kind][2] += 1
    metrics = {kind: {f"recall@{k}": r / n if n else None, f"ndcg@{k}": g / n if n else None, "users": n}
               for kind, (r, g, n) in sums.items()}
    metrics["text_path"] = bool(use_text)
    return metrics
