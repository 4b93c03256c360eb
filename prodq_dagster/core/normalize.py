"""Vectorized value normalization: trimming, null markers, vocabularies, numbers, money."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .contract import NULL_MARKERS
from .privacy import mask_email_text
from .stats import SPELLING_EXAMPLES, UnknownValue, rank_unknown
from .vocab import Vocabulary

def _case_variants(word: str) -> set[str]:
    variants = {""}
    for ch in word:
        variants = {v + c for v in variants for c in {ch.lower(), ch.upper()}}
    return variants


# Every case spelling of every marker, so the test needs no lower-casing pass.
_NULL_SET = pa.array(sorted(set().union(*(_case_variants(m) for m in NULL_MARKERS))), pa.string())
_MARKER_MAX_BYTES = max(len(m.encode()) for m in NULL_MARKERS)
_MARKER_LENGTH = np.isin(np.arange(_MARKER_MAX_BYTES + 1), [len(m.encode()) for m in NULL_MARKERS])
_MARKER_FIRST_BYTE = np.isin(np.arange(256), [v.encode()[0] for v in _NULL_SET.to_pylist() if v])
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
# Money: optional sign, up to 16 integer digits, up to 18 decimals (decimal128(38, 18) fits).
_MONEY = r"^[+-]?\d{1,16}(?:\.\d{0,18})?$|^[+-]?\.\d{1,18}$"
_MONEY_SYMBOLS = r"[\s$€£¥₹]"
# A comma is a thousands separator only in groups of three (1,234.50); "12,5" or
# "1.234,50" (decimal commas) are rejected rather than silently changed.
_THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"
MONEY_TYPE = pa.decimal128(18, 2)
_WIDE_MONEY = pa.decimal128(38, 18)
_MONEY_MAX = pa.scalar(Decimal("9999999999999999.99"), _WIDE_MONEY)  # the largest decimal128(18, 2)


def text(values: pa.Array) -> pa.Array:
    """Trim whitespace; values equal to a null marker (case-folded) become null."""
    trimmed = pc.utf8_trim_whitespace(values)
    if trimmed.type != pa.string() or not isinstance(trimmed, pa.Array):
        is_marker = pc.is_in(trimmed, value_set=_NULL_SET)
        return pc.if_else(pc.fill_null(is_marker, True), pa.scalar(None, pa.string()), trimmed)
    # Only values as long as a marker can be one: the lookup runs on those few rows, and
    # the markers become nulls in a new validity bitmap over the same string buffers.
    buffers = trimmed.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=len(trimmed) + 1, offset=trimmed.offset * 4)
    lengths = np.diff(offsets)
    short = np.flatnonzero(lengths <= _MARKER_MAX_BYTES)
    short = short[_MARKER_LENGTH[lengths[short]]]
    data = np.frombuffer(buffers[2] or b"", dtype=np.uint8)
    if len(short) and len(data):
        first = data[np.minimum(offsets[short], len(data) - 1)]
        short = short[(lengths[short] == 0) | _MARKER_FIRST_BYTE[first]]
    is_marker = pc.fill_null(pc.is_in(trimmed.take(pa.array(short)), value_set=_NULL_SET), False)
    markers = short[is_marker.to_numpy(zero_copy_only=False)]
    if len(markers) == 0:
        return trimmed
    valid = pc.is_valid(trimmed).to_numpy(zero_copy_only=False)
    valid[markers] = False
    return pa.Array.from_buffers(
        pa.string(),
        len(trimmed),
        [pa.py_buffer(np.packbits(valid, bitorder="little")), buffers[1].slice(trimmed.offset * 4), buffers[2]],
    )


def by_dictionary(values: pa.Array, transform) -> pa.Array:
    """Apply ``transform`` to the distinct values only, then expand back.

    Categorical columns have a handful of spellings in millions of rows, so the
    string work runs on the dictionary, not on every row.
    """
    encoded = pc.dictionary_encode(values)
    return pc.take(transform(encoded.dictionary), encoded.indices)


@dataclass
class Category:
    """A categorical column looked up in its vocabulary, dictionary-encoded over its distinct spellings.

    The string work runs once per spelling, and the row-order takes that build the clean
    table move 4-byte indices instead of strings (the clean schema casts them back to text).
    """

    present: pa.DictionaryArray  # trimmed raw text; null where missing (null marker)
    canonical: pa.DictionaryArray  # canonical value; null where missing or unknown
    keys: pa.Array  # per dictionary entry: the folded lookup key (null where missing)

    def unknown_values(self, rows: np.ndarray | None = None) -> list[UnknownValue]:
        """Present values the vocabulary does not know, counted by lookup key (among ``rows``, a mask)."""
        indices = self.present.indices
        if rows is not None:
            indices = indices.filter(pa.array(rows))
        entries = len(self.present.dictionary)
        counts = np.bincount(pc.fill_null(indices, entries).to_numpy(zero_copy_only=False), minlength=entries + 1)[:entries]
        unknown = pc.and_(pc.is_valid(self.keys), pc.is_null(self.canonical.dictionary)).to_numpy(zero_copy_only=False)
        found: dict[str, UnknownValue] = {}
        spellings = self.present.dictionary.to_pylist()
        keys = self.keys.to_pylist()
        for entry in np.flatnonzero(unknown & (counts > 0)):
            key = _shown(keys[entry])
            item = found.setdefault(key, UnknownValue(key, 0))
            item.rows += int(counts[entry])
            item.spellings = sorted({*item.spellings, _shown(spellings[entry])})[:SPELLING_EXAMPLES]
        return rank_unknown(list(found.values()))


SHOWN_CHARS = 80


def _shown(value: str) -> str:
    """A raw value as reports and alerts show it: e-mail addresses masked, long text cut."""
    value = mask_email_text(value)
    return value if len(value) <= SHOWN_CHARS else value[: SHOWN_CHARS - 1] + "…"


def category(values: pa.Array, vocabulary: Vocabulary) -> Category:
    """Trim, null the markers, fold and look up a categorical column in its vocabulary."""
    encoded = pc.dictionary_encode(values)
    present = text(encoded.dictionary)
    keys = vocabulary.keys_of(present)
    canonical = vocabulary.lookup(keys)
    return Category(with_dictionary(encoded.indices, present), with_dictionary(encoded.indices, canonical), keys)


def with_dictionary(indices: pa.Array, dictionary: pa.Array) -> pa.DictionaryArray:
    """A dictionary array whose rows are null exactly where their value is null (so
    ``is_valid`` means "has a value", as for a plain array)."""
    has_value = pc.fill_null(pc.take(pc.is_valid(dictionary), indices), False)
    indices = pc.if_else(has_value, indices, pa.scalar(None, indices.type))
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def number(values: pa.Array) -> pa.Array:
    """Finite decimal numbers (``120000``, ``1.2e5``) as float64; null where not numeric."""
    # Plain digit strings (nearly every row) are numbers without the regex, which cost five times as much.
    ok = pc.fill_null(pc.ascii_is_decimal(values), False).to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(~ok & pc.is_valid(values).to_numpy(zero_copy_only=False))
    if len(rest):
        ok[rest] = pc.fill_null(pc.match_substring_regex(values.take(pa.array(rest)), _NUMBER), False).to_numpy(zero_copy_only=False)
    return pc.cast(pc.if_else(pa.array(ok), values, pa.scalar(None, pa.string())), pa.float64())


def money(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Parse money text exactly: (decimal128(18,2) rounded half-even, rounded flag).

    Currency symbols, spaces and thousands separators are removed first; anything still
    not a plain decimal number is null. The sign is judged on the exact value before
    rounding (``-0.004`` is negative, not zero), and a value whose rounding does not fit
    the output type is null too: both become ``invalid_amount``.
    """
    stripped = pc.replace_substring_regex(values, _MONEY_SYMBOLS, "")
    grouped = pc.fill_null(pc.match_substring_regex(stripped, _THOUSANDS), False)
    stripped = pc.if_else(grouped, pc.replace_substring(stripped, ",", ""), stripped)
    ok = pc.fill_null(pc.match_substring_regex(stripped, _MONEY), False)
    wide = pc.cast(pc.if_else(ok, stripped, pa.scalar(None, pa.string())), _WIDE_MONEY)
    rounded = pc.round(wide, ndigits=2, round_mode="half_to_even")
    usable = pc.and_(pc.greater_equal(wide, pa.scalar(0, _WIDE_MONEY)), pc.less_equal(rounded, _MONEY_MAX))
    changed = pc.fill_null(pc.and_(usable, pc.not_equal(rounded, wide)), False)
    amount = pc.if_else(pc.fill_null(usable, False), rounded, pa.scalar(None, _WIDE_MONEY))
    return pc.cast(amount, MONEY_TYPE), changed
