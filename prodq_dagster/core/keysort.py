"""Sort order of primary keys: the same indices as pyarrow's stable sort, computed on integers.

Sorting string ids with ``pyarrow.compute.array_sort_indices`` compares strings, and it is
the largest single step of processing a bucket. Ids are short and
regular (``E0001434813``, zero-padded numbers, fixed-format codes, plus the odd
``N/A``): their bytes, right-padded with NUL to the widest id, form an
``n x width`` matrix; each byte column is replaced by the rank of its byte among
the values that column takes, and the ranks (with the byte length last) pack into
one integer per id that orders like the id. numpy sorts those integers, tagged
with the row number so that the plain sort is stable, without comparing strings.
The result is exactly pyarrow's order (byte-wise, stable, nulls last in input
order); ids that do not pack into 64 bits, are wider than 24 bytes, or are
non-ASCII of mixed widths take pyarrow's sort.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MAX_WIDTH = 24  # wider ids are padded to a matrix no more; they take pyarrow's sort


def _offsets(keys: pa.Array) -> np.ndarray:
    return np.frombuffer(keys.buffers()[1], dtype=np.int32, count=len(keys) + 1, offset=keys.offset * 4)


def _byte_matrix(keys: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(n x width uint8 matrix of the keys' bytes zero-padded on the right, byte lengths), or None.

    Keys of one width are the Arrow data buffer reshaped (no copy); keys of a few
    widths are right-padded with NUL first, which keeps byte order when the length
    breaks ties (``a`` < ``a\0``). Non-ASCII keys of mixed widths are not handled.
    """
    offsets = _offsets(keys)
    lengths = np.diff(offsets)
    width = int(lengths.max())
    if width == 0 or width > _MAX_WIDTH:
        return None
    if int(lengths.min()) != width:
        keys = pc.utf8_rpad(keys, width=width, padding="\0")
        offsets = _offsets(keys)
        if offsets[-1] - offsets[0] != len(keys) * width:
            return None
    start = int(offsets[0])
    data = np.frombuffer(keys.buffers()[2], dtype=np.uint8, count=len(keys) * width, offset=start)
    return data.reshape(len(keys), width), lengths


def _packed_key(matrix: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, int] | None:
    """One uint64 per key that orders like the key, and the number of bits it uses; None if > 64.

    Each byte column is replaced by the rank of its byte among the values that column
    takes (order-preserving; a column of digits needs 4 bits, a constant one none) and
    the ranks are packed most significant first, with the byte length last when it varies.
    """
    fields = list(np.ascontiguousarray(matrix.T))  # one contiguous row per byte column
    if lengths.min() != lengths.max():
        fields.append(lengths)
    key = np.zeros(len(matrix), dtype=np.uint64)
    bits = 0
    for values in fields:
        present = np.bincount(values, minlength=1) > 0
        distinct = int(present.sum())
        if distinct == 1:
            continue
        width = (distinct - 1).bit_length()
        bits += width
        if bits > 64:
            return None
        rank = (np.cumsum(present) - 1).astype(np.uint64)
        key = (key << np.uint64(width)) | rank[values]
    return key, bits


def _packed_order(key: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(stable sort order, the packed keys in that order)."""
    index_bits = max(len(key) - 1, 1).bit_length()
    if bits + index_bits > 64:
        order = np.argsort(key, kind="stable").astype(np.uint64)
        return order, key[order]
    # Keys made unique by the row number in their low bits: a plain sort of the
    # integers is the stable order, and cheaper than a stable argsort.
    tagged = (key << np.uint64(index_bits)) | np.arange(len(key), dtype=np.uint64)
    tagged.sort()
    return tagged & np.uint64((1 << index_bits) - 1), tagged >> np.uint64(index_bits)


def sort_runs(keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(order, changed): the indices that sort ``keys`` (a string array) ascending, stable,
    nulls last, exactly as pyarrow's sort; and for each sorted position after the first
    whether its key differs from the one before (all nulls are one key)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=bool)
    if keys.type == pa.string():
        values, valid = keys, None
        if keys.null_count:
            valid = pc.is_valid(keys).to_numpy(zero_copy_only=False)
            values = keys.filter(pa.array(valid))
        found = _byte_matrix(values) if len(values) else None
        packed = _packed_key(*found) if found is not None else None
        if packed is not None:
            order, sorted_keys = _packed_order(*packed)
            changed = sorted_keys[1:] != sorted_keys[:-1]
            if valid is None:
                return order, changed
            nulls = np.flatnonzero(~valid)
            order = np.concatenate((np.flatnonzero(valid)[order], nulls)).astype(np.uint64)
            return order, np.concatenate((changed, [True], np.zeros(len(nulls) - 1, dtype=bool)))
    order = pc.array_sort_indices(keys, null_placement="at_end").to_numpy(zero_copy_only=False)
    ordered = keys.take(pa.array(order))
    head, tail = ordered.slice(0, n - 1), ordered.slice(1)
    changed = pc.fill_null(pc.not_equal(tail, head), False).to_numpy(zero_copy_only=False)
    changed |= pc.and_(pc.is_null(tail), pc.is_valid(head)).to_numpy(zero_copy_only=False)
    return order, changed
