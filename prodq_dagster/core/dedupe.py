"""Dedupe: drop full-row duplicates, then pick the best record of each duplicated id.

The primary keys are sorted once (``keysort.sort_runs``); that order groups the
keys and is also the order of the clean file. Only rows whose key occurs more than
once can be duplicates of either kind, so the expensive work (joining whole rows,
content hashes, sorting by the ranking) touches those rows only, and it is done once
for both kinds (``RepeatedRows``). Ties are broken by
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


def row_content(table: pa.Table, columns: list[str], trim: bool) -> pa.Array:
    """One text per row that is equal exactly when the rows are equal on ``columns``.

    Each value is written as its length, ``:`` and the value, and a null as ``-``, so no
    value can run into its neighbour (a separator character could appear inside a value).
    """
    parts = []
    for name in columns:
        col = table.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        if trim:
            col = pc.utf8_trim_whitespace(col)
        sized = pc.binary_join_element_wise(pc.cast(pc.utf8_length(col), pa.string()), col, ":")
        parts.append(pc.fill_null(sized, "-"))
    return pc.binary_join_element_wise(*parts, "")


@dataclass
class RepeatedRows:
    """The rows whose key occurs more than once (the only rows either kind of duplicate can
    involve), compared once on their trimmed content for both dedupe steps."""

    rows: np.ndarray  # row numbers, ascending
    dropped: np.ndarray  # mask over all rows: full-row duplicates to drop
    content_hash: np.ndarray  # per entry of ``rows``: stable 64-bit hash of the trimmed content

    @classmethod
    def of(cls, table: pa.Table, columns: list[str], groups: KeyGroups) -> "RepeatedRows":
        """``columns``: every column a row has (the contract columns and the extra-column key)."""
        rows = np.flatnonzero(groups.repeated())
        dropped = np.zeros(table.num_rows, dtype=bool)
        if len(rows) == 0:
            return cls(rows, dropped, np.zeros(0, dtype=np.uint64))
        subset = table.take(pa.array(rows))
        content = pc.dictionary_encode(row_content(subset, columns, trim=True))
        same = content.indices.to_numpy(zero_copy_only=False)
        # Hashing each distinct content once; a string's hash does not depend on its neighbours.
        hashes = pd.util.hash_array(np.asarray(content.dictionary.to_numpy(zero_copy_only=False), dtype=object))[same]
        dropped[_full_row_losers(subset, columns, rows, same)] = True
        return cls(rows, dropped, hashes)

    def hashes_of(self, rows: np.ndarray) -> np.ndarray:
        """Content hashes of ``rows`` (each one of ``self.rows``)."""
        return self.content_hash[np.searchsorted(self.rows, rows)]


def _full_row_losers(subset: pa.Table, columns: list[str], rows: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Rows equal to another row on every column after trimming whitespace, but one per set:
    the one whose untrimmed text sorts first is kept."""
    counts = np.bincount(same)
    equal = np.flatnonzero(counts[same] > 1)
    if len(equal) == 0:
        return np.zeros(0, dtype=np.int64)
    raw_columns = ["extra_columns" if c == "extra_key" else c for c in columns]
    same, raw = same[equal], row_content(subset.take(pa.array(equal)), raw_columns, trim=False)
    # Arrow's sort is stable and compares UTF-8 bytes, which orders as code points do.
    order = pc.sort_indices(pa.table({"same": same, "raw": raw}), [("same", "ascending"), ("raw", "ascending")])
    order = order.to_numpy(zero_copy_only=False)
    ordered_same = same[order]
    later = np.concatenate(([False], ordered_same[1:] == ordered_same[:-1]))
    return rows[equal[order[later]]]


def id_losers(
    groups: KeyGroups,
    repeated: RepeatedRows,
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
    frame["tiebreak"] = repeated.hashes_of(rows)
    frame = frame.sort_values(sort_cols + ["tiebreak"], ascending=ascending + [True], kind="stable")
    losers[frame["row"].to_numpy()[frame["group"].duplicated().to_numpy()]] = True
    return losers
