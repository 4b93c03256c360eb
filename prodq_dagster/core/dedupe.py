"""Dedupe: drop full-row duplicates, then pick the best record of each duplicated id.

Both steps hash-encode once over all rows and then sort only the rows that are
duplicated, so the cost of a full sort of string ids is avoided. Ties are broken
by a hash of the row's content, never by file position, so shuffled input gives
identical output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_SEP = "\x1f"


def _joined(table: pa.Table, columns: list[str], trim: bool) -> pa.Array:
    parts = []
    for name in columns:
        col = table.column(name).combine_chunks() if isinstance(table.column(name), pa.ChunkedArray) else table.column(name)
        parts.append(pc.utf8_trim_whitespace(col) if trim else col)
    if not parts:
        return pa.array([""] * table.num_rows)
    return pc.binary_join_element_wise(*parts, _SEP, null_handling="replace", null_replacement="\x00")


def _group_ids(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Dense group id per row and the size of each row's group."""
    encoded = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(encoded) if len(encoded) else np.zeros(0, dtype=np.int64)
    return encoded, counts[encoded] if len(encoded) else np.zeros(0, dtype=np.int64)


def content_hash(table: pa.Table, columns: list[str]) -> np.ndarray:
    """A stable 64-bit hash of each row's trimmed content (deterministic across runs)."""
    joined = _joined(table, columns, trim=True)
    return pd.util.hash_array(np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object))


def full_row_duplicates(table: pa.Table, columns: list[str]) -> np.ndarray:
    """Mask of rows to drop: equal to another row on every column after trimming whitespace.

    One row of each group is kept: the one whose untrimmed text sorts first.
    """
    n = table.num_rows
    drop = np.zeros(n, dtype=bool)
    if n == 0:
        return drop
    group, size = _group_ids(_joined(table, columns, trim=True))
    dup_rows = np.flatnonzero(size > 1)
    if len(dup_rows) == 0:
        return drop
    raw = _joined(table.take(pa.array(dup_rows)), columns, trim=False).to_pylist()
    frame = pd.DataFrame({"row": dup_rows, "group": group[dup_rows], "raw": raw})
    frame = frame.sort_values(["group", "raw"], kind="stable")
    losers = frame["row"].to_numpy()[frame["group"].duplicated().to_numpy()]
    drop[losers] = True
    return drop


def id_losers(ids: pa.Array, candidates: np.ndarray, rank_keys: list[np.ndarray], tiebreak: np.ndarray) -> np.ndarray:
    """Mask of rows that lose the dedupe of their id.

    ``candidates`` marks rows taking part (id present, not a dropped full-row duplicate);
    ``rank_keys`` are compared lexicographically, higher is better; ``tiebreak`` (a content
    hash, lower wins) settles full ties.
    """
    n = len(ids)
    losers = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(candidates)
    if len(rows) == 0:
        return losers
    group, size = _group_ids(ids.take(pa.array(rows)))
    dup = size > 1
    if not dup.any():
        return losers
    rows, group = rows[dup], group[dup]
    frame = pd.DataFrame({"row": rows, "group": group})
    sort_cols, ascending = ["group"], [True]
    for i, key in enumerate(rank_keys):
        frame[f"k{i}"] = key[rows]
        sort_cols.append(f"k{i}")
        ascending.append(False)
    frame["tiebreak"] = tiebreak[rows]
    sort_cols.append("tiebreak")
    ascending.append(True)
    frame = frame.sort_values(sort_cols, ascending=ascending, kind="stable")
    losers[frame["row"].to_numpy()[frame["group"].duplicated().to_numpy()]] = True
    return losers
