"""timestamps.parse_utc: naive = UTC, offsets honoured per value whatever the mix/order, garbage -> null."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from prodq_dagster.core.timestamps import (
    _CANONICAL,
    UTC_US,
    _parse_canonical,
    _parse_exact,
    parse_utc,
    within_window,
)
from prodq_dagster_tests.test_core_support import EVENTS, good_event, rows_by, run_rows

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def parse(values: list) -> list:
    out = parse_utc(pa.array(values, pa.string()))
    assert out.type == UTC_US
    assert len(out) == len(values)
    return out.to_pylist()


# (raw text, expected UTC instant)
CASES = [
    ("2025-12-10 14:41:42", utc(2025, 12, 10, 14, 41, 42)),
    ("2025-12-10T14:41:42", utc(2025, 12, 10, 14, 41, 42)),
    ("2025-12-10T04:21:24-05:00", utc(2025, 12, 10, 9, 21, 24)),
    ("2025-12-10T04:21:24+05:30", utc(2025, 12, 9, 22, 51, 24)),
    ("2025-12-10T04:21:24Z", utc(2025, 12, 10, 4, 21, 24)),
    ("2025-12-10T04:21:24+0100", utc(2025, 12, 10, 3, 21, 24)),
    ("2025-12-10T04:21:24.123456Z", utc(2025, 12, 10, 4, 21, 24, 123456)),
    ("2025-12-10T04:21:24.5-05:00", utc(2025, 12, 10, 9, 21, 24, 500000)),
    ("2025-12-10 23:59:59.250", utc(2025, 12, 10, 23, 59, 59, 250000)),
]


def test_naive_string_is_utc():
    assert parse(["2025-12-10 14:41:42"]) == [utc(2025, 12, 10, 14, 41, 42)]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0] for c in CASES])
def test_single_value_lands_on_right_instant(text, expected):
    assert parse([text]) == [expected]


def test_offset_first_then_naive():
    # The pandas ISO8601 trap: an offset string before a naive one.
    got = parse(["2025-12-10T04:21:24-05:00", "2025-12-10 14:41:42"])
    assert got == [utc(2025, 12, 10, 9, 21, 24), utc(2025, 12, 10, 14, 41, 42)]


def test_naive_first_then_offset():
    got = parse(["2025-12-10 14:41:42", "2025-12-10T04:21:24-05:00", "2025-12-10T04:21:24+05:30"])
    assert got == [utc(2025, 12, 10, 14, 41, 42), utc(2025, 12, 10, 9, 21, 24), utc(2025, 12, 9, 22, 51, 24)]


def test_shuffled_large_mix_matches_expected_instants():
    rng = random.Random(20251210)
    base = utc(2025, 12, 10)
    pairs = []
    for i in range(300):
        instant = base + timedelta(seconds=rng.randrange(0, 86_400), microseconds=rng.choice([0, 0, 500_000, 123_456]))
        kind = i % 6
        if kind == 0:  # naive, space
            text = instant.strftime("%Y-%m-%d %H:%M:%S") + (f".{instant.microsecond:06d}" if instant.microsecond else "")
        elif kind == 1:  # Z
            text = instant.strftime("%Y-%m-%dT%H:%M:%S") + (f".{instant.microsecond:06d}" if instant.microsecond else "") + "Z"
        elif kind == 2:  # -05:00
            local = instant - timedelta(hours=5)
            text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{instant.microsecond:06d}" if instant.microsecond else "") + "-05:00"
        elif kind == 3:  # +05:30
            local = instant + timedelta(hours=5, minutes=30)
            text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{instant.microsecond:06d}" if instant.microsecond else "") + "+05:30"
        elif kind == 4:  # +0100 (no colon)
            local = instant + timedelta(hours=1)
            text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{instant.microsecond:06d}" if instant.microsecond else "") + "+0100"
        else:  # naive, T separator
            text = instant.strftime("%Y-%m-%dT%H:%M:%S") + (f".{instant.microsecond:06d}" if instant.microsecond else "")
        pairs.append((text, instant))
    for _ in range(4):
        rng.shuffle(pairs)
        got = parse([t for t, _ in pairs])
        wrong = [(t, g, e) for (t, e), g in zip(pairs, got) if g != e]
        assert not wrong, wrong[:5]


@pytest.mark.parametrize("garbage", ["bad-ts", "not a date", "2025-13-45 25:61:00", "tomorrow", "12:00", "2025-12-10 25:00:00"])
def test_garbage_is_null_not_exception(garbage):
    got = parse(["2025-12-10 14:41:42", garbage, "2025-12-10T04:21:24Z"])
    assert got == [utc(2025, 12, 10, 14, 41, 42), None, utc(2025, 12, 10, 4, 21, 24)]


@pytest.mark.parametrize("impossible", ["2025-02-30 10:00:00", "2025-04-31T00:00:00Z", "2025-02-29 10:00:00"])
def test_impossible_calendar_date_is_null_not_rolled_over(impossible):
    # Not a real day: must be unparseable (-> invalid_*_time), not silently moved to the next month.
    got = parse([impossible, "2025-12-10 00:00:00"])
    assert got == [None, utc(2025, 12, 10)]


def test_null_input_stays_null():
    assert parse([None, "2025-12-10 00:00:00"]) == [None, utc(2025, 12, 10)]


def test_epoch_milliseconds_and_seconds():
    instant = utc(2025, 12, 10, 14, 41, 42)
    ms = str(int(instant.timestamp() * 1000))
    s = str(int(instant.timestamp()))
    assert len(ms) == 13 and len(s) == 10
    assert parse([ms, s]) == [instant, instant]


@pytest.mark.parametrize("text", ["2999-01-01 00:00:00", "2999-12-10T04:21:24Z", "1900-01-01 00:00:00"])
def test_implausible_years_are_null(text):
    assert parse([text, "2025-12-10 00:00:00"]) == [None, utc(2025, 12, 10)]


@pytest.mark.parametrize("order", ["naive_first", "offset_first"])
def test_mixed_column_through_pipeline(tmp_path, order):
    rows = [
        good_event("E1", event_time="2025-12-10 14:41:42"),
        good_event("E2", event_time="2025-12-10T04:21:24-05:00"),
        good_event("E3", event_time="2025-12-10T12:00:00+05:30"),
        good_event("E4", event_time="2025-12-10T08:00:00.75Z"),
    ]
    if order == "offset_first":
        rows = rows[1:] + rows[:1]
    result = run_rows(tmp_path, EVENTS, rows)
    assert result.quarantine.num_rows == 0
    times = {k: v["event_time_utc"] for k, v in rows_by(result.clean, "event_id").items()}
    assert times == {
        "E1": utc(2025, 12, 10, 14, 41, 42),
        "E2": utc(2025, 12, 10, 9, 21, 24),
        "E3": utc(2025, 12, 10, 6, 30, 0),
        "E4": utc(2025, 12, 10, 8, 0, 0, 750000),
    }
    assert str(result.clean.schema.field("event_time_utc").type) == "timestamp[us, tz=UTC]"


def _random_timestamp_text(rng: random.Random) -> str:
    """Canonical and near-canonical layouts: the edges of the fast path's regex."""
    year = rng.choice([2024, 2025, 2000, 2100, 1900, 2023, 2400, 2099])
    month, day = rng.choice([(2, 28), (2, 29), (2, 30), (4, 30), (4, 31), (12, 31), (1, 1), (13, 1), (0, 5), (6, 0)])
    hour, minute, second = rng.choice([(0, 0, 0), (23, 59, 59), (24, 0, 0), (12, 60, 0), (12, 0, 60), (7, 5, 9)])
    sep = rng.choice(["T", " ", "t", "  "])
    frac = rng.choice(["", "", ".5", ".123456", ".1234567", ",25", ".", ".000001"])
    zone = rng.choice(["", "", "Z", "z", "UTC", " Z", "+05:30", "-0800", "+14", "-14:59", "+15:00", "+05:60", "-1", "+0530"])
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}"


def test_fast_path_equals_exact_path_on_every_value():
    # The fast path (regex + pyarrow ISO cast) must give exactly what the exact path gives.
    rng = random.Random(7)
    values = [_random_timestamp_text(rng) for _ in range(20_000)] + ["1765377702", "12/10/2025 14:41", None, ""]
    array = pa.array(values, pa.string())
    fast = parse_utc(array).to_pylist()
    exact = within_window(_parse_exact(array)).to_pylist()
    differ = [(v, f, e) for v, f, e in zip(values, fast, exact) if f != e]
    assert not differ, differ[:5]
    assert sum(v is not None for v in fast) > 1_000  # the mix really exercises parsing
    canonical = pc.fill_null(pc.match_substring_regex(array, _CANONICAL), False)
    assert pc.sum(canonical).as_py() > 500
    assert _parse_canonical(array, canonical) is not None  # pyarrow's cast took every canonical row


GRAMMAR_CASES = [
    ("2025/12/10 14:41:42", utc(2025, 12, 10, 14, 41, 42)),
    ("2025-12-10 14:41", utc(2025, 12, 10, 14, 41)),
    ("2025-12-10t14:41:42z", utc(2025, 12, 10, 14, 41, 42)),
    ("2025-12-10 14:41:42,5", utc(2025, 12, 10, 14, 41, 42, 500000)),
    ("2025-12-10 14:41:42.123456789", utc(2025, 12, 10, 14, 41, 42, 123456)),
    ("2025-12-10 14:41:42 UTC", utc(2025, 12, 10, 14, 41, 42)),
    ("2025-12-10 14:41:42 gmt", utc(2025, 12, 10, 14, 41, 42)),
    ("2025-12-10 10:00:00 UTC+05:30", utc(2025, 12, 10, 4, 30)),  # ahead of UTC, as ISO 8601 reads it
    ("2025-12-10 10:00:00 GMT-03", utc(2025, 12, 10, 13, 0)),
    ("2025-12-10 10:00:00GMT-0300", utc(2025, 12, 10, 13, 0)),
    ("2025-12-10 10:00:00 +05:30", utc(2025, 12, 10, 4, 30)),
    ("2025-12-10T10:00:00+14:00", utc(2025, 12, 9, 20, 0)),
]


@pytest.mark.parametrize("text,expected", GRAMMAR_CASES, ids=[c[0] for c in GRAMMAR_CASES])
def test_grammar_forms(text, expected):
    assert parse([text, "2025-12-10T00:00:00+01:00"]) == [expected, utc(2025, 12, 9, 23)]


REJECTED = [
    "12/10/2025 14:41",  # day or month first: ambiguous
    "10.12.2025 14:41:42",
    "Dec 10 2025 2pm",
    "2025-12-10",  # a date is not an instant
    "2025-12-10 10:00:00 GMT-3",  # one-digit offset: not a form (the sign would be a guess)
    "2025-12-10 10:00:00 UTC+5",
    "2025-12-10 10:00:00+15:00",  # beyond the largest real offset
    "2025-12-10 10:00:00+05:60",
    "2025-12-10 24:00:00",
    "2025-12-10 12:00:60",  # no leap seconds
    "2025-02-30 12:00:00",
    "2025-12-10 10:00:00" + " " * 60 + "x",  # padded garbage is not ignored
    "2025-12-10 10:00:00" + " " * 60 + "+05:30",
    "2025-12-10 10:00:00 EST",  # zone names other than UTC/GMT are ambiguous
    "2025-12-10  10:00:00",
    "176537770",  # nine digits: not an epoch
    "bad-ts",
]


@pytest.mark.parametrize("text", REJECTED)
def test_values_outside_the_grammar_are_unparseable(text):
    assert parse([text, "2025-12-10 00:00:00"]) == [None, utc(2025, 12, 10)]
