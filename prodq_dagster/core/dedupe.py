"""Dedupe: drop full-row duplicates, then pick the best record of each duplicated id.

The primary keys are sorted once (``keysort.sort_runs``); that order groups the
keys and is also the order of the clean file. Only rows whose key occurs more than
once can be duplicates of either kind, so the expensive work (joining whole rows,
content hashes, sorting by the ranking) touches those rows only. Ties are broken by
a hash of the row's content, never by file position, so shuffled input gives
identical output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .keysort import sort_runs

_SEP = "\x1f"


@dataclass
class KeyGroups:
    """Rows grouped by trimmed primary key (nulls form one group), from one sort of the keys.

    ``order`` sorts the rows by key (nulls last): outputs are written in this order,
    so the same sort serves dedupe and the primary-key order of the files.
    """

    group: np.ndarray
    size: np.ndarray
    order: np.ndarray

    @classmethod
    def of(cls, keys: pa.Array) -> "KeyGroups":
        order, changed = sort_runs(keys)
        if len(keys) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, order)
        group_sorted = np.concatenate(([0], np.cumsum(changed)))
        group = np.empty(len(keys), dtype=np.int64)
        group[order] = group_sorted
        counts = np.bincount(group_sorted)
        return cls(group, counts[group], order)

    def repeated(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Mask of rows whose key occurs more than once (among ``rows`` when given)."""
        if rows is None:
            return self.size > 1
        counts = np.bincount(self.group[rows], minlength=len(self.size) and int(self.group.max()) + 1)
        mask = np.zeros(len(self.group), dtype=bool)
        mask[rows] = counts[self.group[rows]] > 1
        return mask


def joined_rows(table: pa.Table, columns: list[str], trim: bool) -> pa.Array:
    parts = []
    for name in columns:
        col = table.column(name).combine_chunks()
        parts.append(pc.utf8_trim_whitespace(col) if trim else col)
    return pc.binary_join_element_wise(*parts, _SEP, null_handling="replace", null_replacement="\x00")


def content_hash(table: pa.Table, columns: list[str]) -> np.ndarray:
    """A stable 64-bit hash of each row's trimmed content (deterministic across runs)."""
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.uint64)
    joined = joined_rows(table, columns, trim=True)
    return pd.util.hash_array(np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object))


def full_row_duplicates(table: pa.Table, columns: list[str], groups: KeyGroups) -> np.ndarray:
    """Mask of rows to drop: equal to another row on every column after trimming whitespace.

    One row of each set of equal rows is kept: the one whose untrimmed text sorts first.
    """
    drop = np.zeros(table.num_rows, dtype=bool)
    candidates = np.flatnonzero(groups.repeated())
    if len(candidates) == 0:
        return drop
    subset = table.take(pa.array(candidates))
    trimmed = pc.dictionary_encode(joined_rows(subset, columns, trim=True)).indices.to_numpy(zero_copy_only=False)
    frame = pd.DataFrame({"row": candidates, "same": trimmed, "raw": joined_rows(subset, columns, trim=False).to_pylist()})
    frame = frame[frame["same"].duplicated(keep=False)].sort_values(["same", "raw"], kind="stable")
    drop[frame["row"].to_numpy()[frame["same"].duplicated().to_numpy()]] = True
    return drop


def id_losers(
    table: pa.Table,
    columns: list[str],
    groups: KeyGroups,
    candidates: np.ndarray,
    rank_keys: list[np.ndarray],
) -> np.ndarray:
    """Mask of rows that lose the dedupe of their id.

    ``candidates`` marks rows taking part (id present, not a dropped full-row duplicate);
    ``rank_keys`` are compared lexicographically, higher is better; a content hash
    (lower wins) settles full ties.
    """
    losers = np.zeros(len(candidates), dtype=bool)
    rows = np.flatnonzero(groups.repeated(np.flatnonzero(candidates)))
    if len(rows) == 0:
        return losers
    frame = pd.DataFrame({"row": rows, "group": groups.group[rows]})
    sort_cols, ascending = ["group"], [True]
    for i, key in enumerate(rank_keys):
        frame[f"k{i}"] = key[rows]
        sort_cols.append(f"k{i}")
        ascending.append(False)
    frame["tiebreak"] = content_hash(table.take(pa.array(rows)), columns)
    frame = frame.sort_values(sort_cols + ["tiebreak"], ascending=ascending + [True], kind="stable")
    losers[frame["row"].to_numpy()[frame["group"].duplicated().to_numpy()]] = True
    return losers
