"""Vectorized timestamp parsing to tz-aware UTC, by an explicit grammar.

Accepted (after trimming; the whole value must match, nothing is ignored):

* ``YYYY-MM-DD`` or ``YYYY/MM/DD``, then ``T`` or a space, then ``HH:MM``, optionally
  ``:SS`` and a fraction of 1 to 9 digits after ``.`` or ``,`` (kept to microseconds);
* then optionally a zone, with or without one space before it: ``Z``, ``UTC``, ``GMT``,
  an offset ``+hh``, ``+hhmm`` or ``+hh:mm`` (up to 14 hours), or ``UTC``/``GMT``
  followed by such an offset. Offsets read as ISO 8601 does: ``+05:30`` and
  ``UTC+05:30`` are five and a half hours ahead of UTC, ``GMT-3`` is not a form
  (``GMT-03`` is: three hours behind UTC);
* epoch seconds (exactly 10 digits) or milliseconds (exactly 13 digits).

A value without a zone is UTC. Every value is read on its own terms whatever the mix and
order of naive and offset values in the column (``pandas.to_datetime(format="ISO8601",
utc=True)`` can take the first value's zone handling for the whole column). Dates must
exist (29 February in leap years only); instants outside [2000-01-01, 2100-01-01) UTC are
implausible. Anything else, including day-first or month-first dates such as
``12/10/2025`` (ambiguous), month names and garbage, is unparseable: null.

Two vectorized paths give the same instants: a regex picks the canonical ISO 8601 values
(nearly every row of a real feed), which pyarrow's ISO 8601 cast reads; the rest is split
by the full grammar's regex and assembled with ``strptime`` and offset arithmetic.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

UTC_US = pa.timestamp("us", tz="UTC")

# Instants outside this window are treated as unparseable garbage (year 2999, 1900 ...).
MIN_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_PLAUSIBLE = datetime(2100, 1, 1, tzinfo=timezone.utc)

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
_SLASH_DATE = r"^(\d{4})/(\d{2})/(\d{2})"
_OFFSET = r"[+-]\d{2}(?::?\d{2})?"
_GRAMMAR = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<hm>(?:[01]\d|2[0-3]):[0-5]\d)(?::(?P<sec>[0-5]\d)(?:[.,](?P<frac>\d{1,9}))?)?"
    rf" ?(?P<zone>[Zz]|(?i:utc|gmt)(?:{_OFFSET})?|{_OFFSET})?$"
)


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


def _parse_grammar(values: pa.Array) -> pa.Array:
    """Parse values by the full grammar (epochs aside); everything else comes back null."""
    values = pc.replace_substring_regex(values, _SLASH_DATE, r"\1-\2-\3")
    parts = pc.extract_regex(values, _GRAMMAR)
    second = pc.struct_field(parts, "sec")
    wall_text = pc.binary_join_element_wise(
        pc.struct_field(parts, "date"), "T", pc.struct_field(parts, "hm"), ":", pc.if_else(pc.equal(second, ""), "00", second), ""
    )
    wall = pc.strptime(wall_text, format="%Y-%m-%dT%H:%M:%S", unit="us", error_is_null=True)
    # strptime rolls impossible dates over (Feb 30 -> Mar 2): the stated day must survive.
    stated_day = pc.cast(pc.utf8_slice_codeunits(pc.struct_field(parts, "date"), 8, 10), pa.int64())
    wall = pc.if_else(pc.fill_null(pc.equal(pc.day(wall), stated_day), False), wall, pa.scalar(None, wall.type))
    zone = pc.replace_substring_regex(pc.struct_field(parts, "zone"), r"(?i)^(utc|gmt)", "")
    shift = _offset_micros(pc.struct_field(parts, "frac"), zone)
    micros = pc.add(pc.cast(wall, pa.int64()), shift)
    return pc.if_else(pc.is_valid(parts), micros, pa.scalar(None, pa.int64())).cast(UTC_US)


def _parse_epoch(values: pa.Array) -> pa.Array:
    is_epoch = pc.fill_null(pc.match_substring_regex(values, _EPOCH), False)
    if not pc.any(is_epoch).as_py():
        return pa.nulls(len(values), UTC_US)
    number = _to_int(pc.if_else(is_epoch, values, "0"))
    scale = pc.if_else(pc.equal(pc.utf8_length(values), 13), 1_000, 1_000_000)
    micros = pc.if_else(is_epoch, pc.multiply(number, scale), pa.scalar(None, pa.int64()))
    return micros.cast(UTC_US)


def _parse_exact(values: pa.Array) -> pa.Array:
    """Every form the grammar accepts, value by value (before the plausibility window)."""
    return pc.coalesce(_parse_grammar(values), _parse_epoch(values))


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
        pc.greater_equal(instants, pa.scalar(MIN_PLAUSIBLE, UTC_US)),
        pc.less(instants, pa.scalar(MAX_PLAUSIBLE, UTC_US)),
    )
    return pc.if_else(pc.fill_null(plausible, False), instants, pa.scalar(None, UTC_US))
