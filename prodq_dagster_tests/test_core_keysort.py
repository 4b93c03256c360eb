"""keysort.sort_runs: exactly pyarrow's stable sort order and key runs, on the packed fast path and off it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodq_dagster.core import keysort
from prodq_dagster.core.keysort import sort_runs


def _reference(keys: pa.Array) -> np.ndarray:
    return pc.array_sort_indices(keys, null_placement="at_end").to_numpy(zero_copy_only=False)


def _reference_changed(keys: pa.Array, order: np.ndarray) -> list[bool]:
    ordered = keys.take(pa.array(order)).to_pylist()
    return [a != b for a, b in zip(ordered[1:], ordered[:-1])]


def _assert_same(values: list) -> None:
    keys = pa.array(values, pa.string())
    order, changed = sort_runs(keys)
    assert order.tolist() == _reference(keys).tolist()
    assert changed.tolist() == _reference_changed(keys, order)


def test_generated_ids_with_null_markers_take_the_packed_path():
    rng = np.random.default_rng(7)
    ids = [f"E{n:010d}" for n in rng.integers(0, 50_000, 20_000)]  # duplicates on purpose
    ids[::97] = ["N/A"] * len(ids[::97])
    ids[::101] = [""] * len(ids[::101])
    keys = pa.array(ids, pa.string())
    assert keysort._packed_key(*keysort._byte_matrix(keys)) is not None  # the fast path is taken
    _assert_same(ids)


def test_nulls_last_in_input_order_and_sliced_arrays():
    values = ["b", None, "a", None, "a", "c"]
    _assert_same(values)
    keys = pa.array(["z"] + values, pa.string()).slice(1)
    assert sort_runs(keys)[0].tolist() == _reference(keys).tolist() == [2, 4, 0, 5, 1, 3]


@pytest.mark.parametrize(
    "values",
    [
        [],
        [None, None],
        ["same", "same", "same"],
        ["a", "a\x00", "a\x00b", "", "a"],  # NUL bytes and prefixes: byte order, shorter first
        ["é", "e", "ée", "z", "é"],  # non-ASCII of mixed widths: pyarrow's sort
        ["x" * 30, "x" * 29 + "a", "b"],  # wider than the packed path takes
        ["".join(chars) for chars in np.random.default_rng(3).choice(list("abcdefghijklmnop0123456789"), (3000, 20))],
    ],
)
def test_edge_cases_equal_pyarrow(values):
    _assert_same(values)


def test_random_twenty_character_ids_do_not_pack():
    ids = ["".join(c) for c in np.random.default_rng(3).choice(list("abcdefghijklmnop0123456789"), (100, 20))]
    assert keysort._packed_key(*keysort._byte_matrix(pa.array(ids))) is None  # 20 columns x 5 bits


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab09Z\x00é-", max_size=6)), max_size=80))
def test_any_keys_sort_like_pyarrow(values):
    _assert_same(values)
