"""Vectorized timestamp parsing to tz-aware UTC.

Every value is parsed on its own terms: a naive string is UTC, a string with an
offset (``Z``, ``+05:30``, ``-0500``, ``+01``) is shifted to UTC by that offset.
This holds whatever the mix and order of naive and offset strings in one column
(unlike ``pandas.to_datetime(format="ISO8601", utc=True)``, which can take the
first value's zone handling for the whole column).

Two paths give the same instants:

* the fast path: one regex recognises the canonical ISO 8601 layouts (real
  calendar dates, ``T`` or space, up to 6 fraction digits, ``Z`` / ``+hh[[:]mm]``
  zones up to 14 hours); those rows are parsed by pyarrow's ISO 8601 cast, naive
  ones as UTC. This is nearly every row of a real feed;
* the exact path for the rest: ``strptime`` on the 19-character wall time, then
  fraction and zone arithmetic from a regex split, epoch seconds/milliseconds, and
  only for what neither handles (``12/10/2025 14:41`` ...) pandas' tolerant
  per-element parser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

UTC_US = pa.timestamp("us", tz="UTC")

# Instants outside this window are treated as unparseable garbage (year 2999, 1900 ...).
MIN_PLAUSIBLE = pd.Timestamp("2000-01-01", tz="UTC")
MAX_PLAUSIBLE = pd.Timestamp("2100-01-01", tz="UTC")

# After the 19-character wall time: optional fraction, optional zone.
_SUFFIX = r"^(?:[.,](?P<frac>\d{1,9}))?\s*(?P<tz>[Zz]|UTC|utc|[+-]\d{2}(?::?\d{2})?)?$"
_EPOCH = r"^\d{10}(?:\d{3})?$"
# The canonical layouts of the fast path. Only real calendar dates match (day 29 of
# February in leap years only), so pyarrow's cast never sees a date it would refuse.
_LEAP_YEAR = r"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_CALENDAR_DATE = (
    r"(?:\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    rf"|{_LEAP_YEAR}-02-29)"
)
_CANONICAL = (
    rf"^{_CALENDAR_DATE}[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{{1,6}})?"
    r"(?:Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)?$"
)
_RESIDUE_HINT = r"\d{4}"


def _to_int(arr: pa.Array) -> pa.Array:
    return pc.cast(arr, pa.int64())


def _offset_micros(frac: pa.Array, tz: pa.Array) -> pa.Array:
    """Microseconds to add for the fraction minus the zone offset; null for an impossible offset."""
    frac_us = _to_int(pc.utf8_slice_codeunits(pc.utf8_rpad(pc.if_else(pc.equal(frac, ""), "0", frac), 6, "0"), 0, 6))
    has_offset = pc.match_substring_regex(tz, r"^[+-]")
    digits = pc.replace_substring(pc.if_else(has_offset, tz, "+00:00"), ":", "")
    sign = pc.if_else(pc.starts_with(digits, "-"), -1, 1)
    hours = _to_int(pc.utf8_slice_codeunits(digits, 1, 3))
    minutes_text = pc.utf8_slice_codeunits(digits, 3, 5)
    minutes = _to_int(pc.if_else(pc.equal(minutes_text, ""), "0", minutes_text))
    offset_ok = pc.and_(pc.less_equal(hours, 14), pc.less(minutes, 60))
    offset_us = pc.multiply(sign, pc.multiply(pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60)), 1_000_000))
    return pc.if_else(offset_ok, pc.subtract(frac_us, offset_us), pa.scalar(None, pa.int64()))


def _parse_iso_like(values: pa.Array) -> pa.Array:
    """Parse ``YYYY-MM-DD[T ]HH:MM:SS[.f][zone]``; everything else comes back null.

    The wall time is the fixed-width 19-character head (one ``strptime`` per separator);
    only the rows with a suffix pay for the fraction/zone regex.
    """
    head = pc.utf8_slice_codeunits(values, 0, 19)
    wall = pc.coalesce(
        pc.strptime(head, format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True),
        pc.strptime(head, format="%Y-%m-%dT%H:%M:%S", unit="us", error_is_null=True),
    )
    # strptime rolls impossible dates over (Feb 30 -> Mar 2): the day of month must survive.
    day_text = pc.utf8_slice_codeunits(head, 8, 10)
    digits_ok = pc.fill_null(pc.match_substring_regex(day_text, r"^\d\d$"), False)
    stated_day = pc.cast(pc.if_else(digits_ok, day_text, "0"), pa.int64())
    wall = pc.if_else(pc.fill_null(pc.equal(pc.day(wall), stated_day), False), wall, pa.scalar(None, wall.type))
    micros = pc.cast(wall, pa.int64())
    tail = pc.utf8_slice_codeunits(values, 19, 64)
    has_tail = pc.fill_null(pc.not_equal(tail, ""), False)
    if pc.any(has_tail).as_py():
        index = pc.indices_nonzero(has_tail)
        parts = pc.extract_regex(pc.take(tail, index), _SUFFIX)
        shift = _offset_micros(pc.struct_field(parts, "frac"), pc.struct_field(parts, "tz"))
        shift = pc.if_else(pc.is_valid(parts), shift, pa.scalar(None, pa.int64()))
        shifted = pc.add(pc.take(micros, index), shift)
        micros = pc.replace_with_mask(micros, has_tail, shifted)
    return micros.cast(UTC_US)


def _parse_epoch(values: pa.Array) -> pa.Array:
    is_epoch = pc.fill_null(pc.match_substring_regex(values, _EPOCH), False)
    if not pc.any(is_epoch).as_py():
        return pa.nulls(len(values), UTC_US)
    number = _to_int(pc.if_else(is_epoch, values, "0"))
    scale = pc.if_else(pc.equal(pc.utf8_length(values), 13), 1_000, 1_000_000)
    micros = pc.if_else(is_epoch, pc.multiply(number, scale), pa.scalar(None, pa.int64()))
    return micros.cast(UTC_US)


def _parse_residue(values: pa.Array, todo: np.ndarray) -> pa.Array:
    """Tolerant per-element parse of the few strings no vectorized layout matched."""
    out = pa.nulls(len(values), UTC_US)
    index = np.flatnonzero(todo)
    if len(index) == 0:
        return out
    texts = pd.Series(values.take(pa.array(index)).to_pylist(), dtype="object")
    parsed = pd.to_datetime(texts, format="mixed", utc=True, errors="coerce").astype("datetime64[us, UTC]")
    full = pd.Series(pd.NaT, index=range(len(values)), dtype="datetime64[us, UTC]")
    full.iloc[index] = parsed.to_numpy()
    return pa.Array.from_pandas(full, type=UTC_US)


def _parse_exact(values: pa.Array) -> pa.Array:
    """Every layout prodq accepts, value by value (before the plausibility window)."""
    result = pc.coalesce(_parse_iso_like(values), _parse_epoch(values))
    present = pc.is_valid(values)
    todo = pc.and_(pc.and_(present, pc.is_null(result)), pc.fill_null(pc.match_substring_regex(values, _RESIDUE_HINT), False))
    todo_np = todo.to_numpy(zero_copy_only=False)
    if todo_np.any():
        result = pc.coalesce(result, _parse_residue(values, todo_np))
    return result


def _has_zone(rows: pa.Array) -> np.ndarray:
    """Which canonical strings (no nulls) end in a zone: ``Z``, or a sign 3, 5 or 6 characters
    from the end (``+hh``, ``+hhmm``, ``+hh:mm``).

    Read from the string bytes at those four positions, a few array lookups instead of
    scanning every string: in a canonical string those positions hold a sign or ``Z``
    only when it has a zone (the date's own dashes are further from the end).
    """
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset : rows.offset + len(rows) + 1]
    data = np.frombuffer(rows.buffers()[2], dtype=np.uint8) if len(rows) else np.zeros(0, np.uint8)
    ends = offsets[1:]
    zoned = data[ends - 1] == ord("Z")
    for back in (3, 5, 6):
        char = data[ends - back]
        zoned |= (char == ord("+")) | (char == ord("-"))
    return zoned


def _parse_canonical(values: pa.Array, canonical: pa.Array) -> pa.Array | None:
    """The rows marked ``canonical`` parsed by pyarrow's ISO 8601 cast (others null).

    Zoned strings are cast as they are, naive ones as wall times read as UTC.
    None if the cast refuses any of them (then the caller takes the exact path).
    """
    rows = values.filter(canonical)
    zoned = pa.array(_has_zone(rows))
    naive = pc.invert(zoned)
    try:
        from_zoned = pc.cast(rows.filter(zoned), UTC_US)
        from_naive = pc.cast(pc.cast(rows.filter(naive), pa.timestamp("us")), pa.int64()).cast(UTC_US)
    except pa.ArrowInvalid:
        return None
    parsed = pc.replace_with_mask(pc.replace_with_mask(pa.nulls(len(rows), UTC_US), zoned, from_zoned), naive, from_naive)
    return pc.replace_with_mask(pa.nulls(len(values), UTC_US), canonical, parsed)


def parse_utc(values: pa.Array) -> pa.Array:
    """Parse trimmed strings (null = missing) to ``timestamp[us, UTC]``; null where unparseable."""
    values = pc.cast(values, pa.string())
    canonical = pc.fill_null(pc.match_substring_regex(values, _CANONICAL), False)
    result = _parse_canonical(values, canonical) if pc.any(canonical).as_py() else None
    if result is None:
        result = _parse_exact(values)
    else:
        rest = pc.and_(pc.is_valid(values), pc.invert(canonical))
        if pc.any(rest).as_py():
            result = pc.replace_with_mask(result, rest, _parse_exact(values.filter(rest)))
    return within_window(result)


def within_window(instants: pa.Array) -> pa.Array:
    """Null out instants outside [MIN_PLAUSIBLE, MAX_PLAUSIBLE)."""
    plausible = pc.and_(
        pc.greater_equal(instants, pa.scalar(MIN_PLAUSIBLE.to_pydatetime(), UTC_US)),
        pc.less(instants, pa.scalar(MAX_PLAUSIBLE.to_pydatetime(), UTC_US)),
    )
    return pc.if_else(pc.fill_null(plausible, False), instants, pa.scalar(None, UTC_US))
