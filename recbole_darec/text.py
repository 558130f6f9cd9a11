r"""Readable texts for users and items, rendered from RecBole atomic files.

Templates (see docs/embedding.md):

* item: ``"movie_title: Toy Story; release_year: 1995; class: Animation Children's Comedy"``:
  the chosen ``.item`` fields as ``name: value`` joined by ``"; "`` (sequence fields are joined by
  spaces, empty values are skipped). An item without any text gets ``"item_id: 42"``.
* user: ``"age: 24; gender: M; occupation: technician; history: Star Wars | Contact | Fargo"``:
  the chosen ``.user`` fields, then the history (the items given to :func:`user_texts`, which the
  caller takes from the training split only), each item shown by its history fields (by default
  its first item field, e.g. its title). A user without any text gets ``"user_id: 196"``.

Nothing here knows about the split: :mod:`recbole_darec.embed` decides which interactions a user's
history may contain.
"""

import os

import numpy as np
import pandas as pd

# Bump when a template changes: it is part of the vector files' fingerprint.
TEXT_FORMAT_VERSION = 1
FIELD_SEPARATOR = "; "
HISTORY_SEPARATOR = " | "
HISTORY_LABEL = "history"
TEXT_TYPES = ("token", "token_seq")
# Left out of the default user fields (an identifier of a place, not a preference); name them in
# --user-fields to use them.
DEFAULT_USER_FIELD_EXCLUDE = frozenset({"zip_code", "zipcode", "zip", "postal_code", "postcode"})


class TextError(ValueError):
    """A problem with an atomic file or a field name; the message names the file."""


def read_header(path, field_separator="\t", encoding="utf-8"):
    r"""``{field: type}`` of an atomic file, in file order, from its ``name:type`` header."""
    with open(path, "r", encoding=encoding) as f:
        head = f.readline().rstrip("\r\n")
    types = {}
    for column in head.split(field_separator):
        if column.count(":") != 1:
            raise TextError(f"{path}: header column {column!r} is not of the form 'name:type'")
        name, ftype = column.split(":")
        types[name] = ftype
    return types


def read_atomic_file(path, field_separator="\t", encoding="utf-8", fields=None):
    r"""Return ``(types, frame)``: the header's ``{field: type}`` and the file as strings.

    Read like RecBole reads it (same separator, encoding and pandas parser), so ids come out as the
    tokens RecBole sees. Missing values are ``""``; ``fields`` limits the columns read."""
    types = read_header(path, field_separator, encoding)
    names = list(types) if fields is None else [f for f in types if f in set(fields)]
    usecols = [f"{name}:{types[name]}" for name in names]
    frame = pd.read_csv(
        path,
        delimiter=field_separator,
        usecols=usecols,
        dtype={column: str for column in usecols},
        encoding=encoding,
        engine="python",
    )
    frame = frame[usecols]
    frame.columns = names
    return types, frame.fillna("")


def resolve_fields(path, types, id_field, requested, option, exclude=frozenset()):
    r"""The text fields of one atomic file: ``requested`` (checked), or by default every token
    and token_seq field except ``id_field`` and the names in ``exclude``."""
    if requested is None:
        return [
            name
            for name, ftype in types.items()
            if ftype in TEXT_TYPES and name != id_field and name not in exclude
        ]
    unknown = [name for name in requested if name not in types]
    if unknown:
        available = [name for name in types if name != id_field]
        raise TextError(
            f"{path}: unknown field(s) {unknown} in {option}; available fields: "
            f"{', '.join(available) if available else '(none)'}"
        )
    return list(dict.fromkeys(requested))


def _clean(value, ftype, seq_separator):
    value = str(value).strip()
    if ftype.endswith("_seq"):
        value = " ".join(part for part in value.split(seq_separator) if part.strip())
    return " ".join(value.split())


def render_fields(frame, types, fields, seq_separator=" "):
    r"""One ``"name: value; name: value"`` string per row of ``frame`` (empty values skipped)."""
    parts = [
        [f"{name}: {v}" if v else "" for v in
         (_clean(value, types[name], seq_separator) for value in frame[name].tolist())]
        for name in fields
    ]
    return [FIELD_SEPARATOR.join(p for p in row if p) for row in zip(*parts)] if parts else [
        "" for _ in range(len(frame))
    ]


def render_values(frame, types, fields, seq_separator=" "):
    r"""One string per row: the values of ``fields`` joined by spaces (for history entries)."""
    columns = [
        [_clean(value, types[name], seq_separator) for value in frame[name].tolist()]
        for name in fields
    ]
    return [" ".join(v for v in row if v) for row in zip(*columns)] if columns else [
        "" for _ in range(len(frame))
    ]


def _by_token(frame, id_field, strings):
    r"""``{token: string}`` for the rows of an atomic file (first row wins for a repeated id)."""
    out = {}
    for token, string in zip(frame[id_field].astype(str).str.strip().tolist(), strings):
        if token and token not in out:
            out[token] = string
    return out


def table_texts(frame, types, id_field, fields, seq_separator=" "):
    r"""``{token: "field: value; ..."}`` for the rows of an atomic file."""
    return _by_token(frame, id_field, render_fields(frame, types, fields, seq_separator))


def table_values(frame, types, id_field, fields, seq_separator=" "):
    r"""``{token: short text}`` (values only) for the rows of an atomic file."""
    return _by_token(frame, id_field, render_values(frame, types, fields, seq_separator))


def item_texts(tokens, texts, id_field):
    r"""The item text of each token, falling back to ``"{id_field}: {token}"``."""
    return [texts.get(token) or f"{id_field}: {token}" for token in tokens]


def user_texts(tokens, profiles, histories, item_names, id_field):
    r"""The user text of each token: profile fields, then ``history: a | b | c``.

    ``histories[token]`` is the list of item tokens to show, already ordered and truncated;
    ``item_names[item]`` is how an item is shown (falls back to the item token)."""
    out = []
    for token in tokens:
        parts = []
        profile = profiles.get(token, "")
        if profile:
            parts.append(profile)
        history = histories.get(token, ())
        if len(history):
            shown = [item_names.get(item) or str(item) for item in history]
            parts.append(f"{HISTORY_LABEL}: " + HISTORY_SEPARATOR.join(shown))
        out.append(FIELD_SEPARATOR.join(parts) or f"{id_field}: {token}")
    return out


def histories_from_pairs(users, items, times=None, max_items=50):
    r"""``{user: [item, ...]}`` from interaction pairs: distinct items, most recent first when
    ``times`` is given (ties keep the given order), else in the given order; at most
    ``max_items`` per user."""
    if max_items <= 0 or len(users) == 0:
        return {}
    frame = pd.DataFrame({"u": np.asarray(users), "i": np.asarray(items)})
    frame["order"] = np.arange(len(frame))
    if times is not None:
        frame["t"] = np.asarray(times, dtype=np.float64)
        frame = frame.sort_values(["u", "t", "order"], ascending=[True, False, True], kind="stable")
    else:
        frame = frame.sort_values(["u", "order"], kind="stable")
    frame = frame.drop_duplicates(["u", "i"], keep="first")
    frame = frame.groupby("u", sort=False).head(max_items)
    return {user: group.tolist() for user, group in frame.groupby("u", sort=False)["i"]}


def atomic_path(folder, dataset, suffix):
    return os.path.normpath(os.path.join(folder, f"{dataset}.{suffix}"))
