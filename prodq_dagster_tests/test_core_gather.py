"""take_rows equals pyarrow's take on every shape of text column it may meet."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from prodq_dagster.core.gather import take_rows


def _text(rng: np.random.Generator, n: int) -> pa.Array:
    # Inline (<= 12 bytes) and out-of-line (longer) values, empty strings, nulls, non-ASCII.
    pool = ["", "a", "E0001434813", "exactly12byt", "thirteen_byte", "ü" * 7, "x" * 40, "N/A"]
    values = [pool[i] if i < len(pool) else None for i in rng.integers(0, len(pool) + 2, n)]
    return pa.array(values, pa.string())


@pytest.mark.parametrize("seed", range(20))
def test_take_rows_equals_take(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    text = _text(rng, n + 7).slice(int(rng.integers(0, 7)), n)  # a sliced array has an offset
    table = pa.table(
        {
            "id": text,
            "chunked": pa.chunked_array([_text(rng, n // 2), _text(rng, n - n // 2)]),
            "number": pa.array(rng.integers(0, 100, n)),
            "code": pa.array(rng.choice(["ios", "web", None], n)).dictionary_encode(),
        }
    )
    shuffled = rng.permutation(n)[: int(rng.integers(0, n + 1))].astype(np.uint64)
    for rows in (shuffled, np.sort(shuffled), rng.integers(0, n, n).astype(np.uint64)):
        result = take_rows(table, rows)
        assert result.schema == table.schema
        assert result.equals(table.take(pa.array(rows)))


def test_take_rows_of_an_empty_table():
    table = pa.table({"id": pa.array([], pa.string())})
    assert take_rows(table, np.zeros(0, np.uint64)).equals(table)
