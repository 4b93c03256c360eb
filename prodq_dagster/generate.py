"""Synthetic raw-feed generator for prodq: messy but fully labelled test data.

Writes one folder per ingest day in the raw layout prodq reads (docs/contract.md)::

    <out_dir>/ingest_date=YYYY-MM-DD/customers_raw.csv   (or .csv.gz with --gzip)
    <out_dir>/ingest_date=YYYY-MM-DD/events_raw.csv
    <out_dir>/ingest_date=YYYY-MM-DD/orders_raw.csv
    <out_dir>/manifest.json

Every value is text. Clean rows mix the spellings the pipeline must normalise
(``usa``, ``iPhone``, ``$1,234.50``, naive / ``Z`` / offset timestamps, padded
values, warn-level gaps). On top of them, each day gets extra "mess" rows, each of
which breaks exactly one reject rule, plus full-row duplicates and id duplicates
whose loser is known in advance. ``manifest.json`` is the ground truth: for every
day and entity the expected ``total`` / ``clean`` / ``quarantine`` /
``dropped_duplicates``, ``by_reason``, warn counts on clean rows and, for events,
the clean-event count per UTC hour.

This module is an independent producer of test data: it does not import the
``prodq_dagster`` package; its spellings are chosen by hand from the pipeline's
vocabulary tables. Output is deterministic: the same arguments give the same bytes.
Generation is vectorised (numpy + pyarrow compute); the only Python loops run per
day, per entity, per mess kind or per timestamp format.

Usage::

    prodq generate --out_dir data/raw --start 2025-12-10 --end 2025-12-16 \\
        [--seed 42] [--customers 1000] [--events 20000] [--orders 2000] \\
        [--partial-load-every N] [--low-volume-day YYYY-MM-DD] [--mess-rate 0.01] [--gzip]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

# --------------------------------------------------------------------------------------
# Contract (hard-coded on purpose: this producer does not import the pipeline)
# --------------------------------------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "email", "created_at", "country", "status", "ingest_date"),
    "events": (
        "event_id",
        "customer_id",
        "event_time",
        "event_type",
        "platform",
        "session_id",
        "duration_ms",
        "ingest_date",
    ),
    "orders": ("order_id", "customer_id", "order_time", "amount", "currency", "status", "ingest_date"),
}
FILE_PREFIX = {"customers": "customers_raw", "events": "events_raw", "orders": "orders_raw"}
ENTITY_SEED = {"customers": 1, "events": 2, "orders": 3, "partial_load": 4}

# Reject codes in the order of the rule catalogue. Row labels: 0 = clean,
# 1 = dropped full-row duplicate, 2.. = exactly one reject code.
REJECT_CODES: tuple[str, ...] = (
    "missing_customer_id",
    "missing_event_id",
    "missing_order_id",
    "invalid_created_at",
    "invalid_event_time",
    "invalid_order_time",
    "orphan_customer_id",
    "invalid_event_type",
    "unknown_platform",
    "invalid_duration",
    "invalid_amount",
    "invalid_currency",
    "invalid_order_status",
    "amount_status_mismatch",
    "ingest_date_mismatch",
    "duplicate_customer_id",
    "duplicate_event_id",
    "duplicate_order_id",
)
CLEAN, DROPPED = 0, 1
LABEL = {code: i + 2 for i, code in enumerate(REJECT_CODES)}

MESS_KINDS: dict[str, tuple[str, ...]] = {
    "customers": ("missing_customer_id", "invalid_created_at", "ingest_date_mismatch"),
    "events": (
        "missing_event_id",
        "invalid_event_time",
        "orphan_customer_id",
        "invalid_event_type",
        "unknown_platform",
        "invalid_duration",
        "ingest_date_mismatch",
    ),
    "orders": (
        "missing_order_id",
        "invalid_order_time",
        "orphan_customer_id",
        "invalid_amount",
        "invalid_currency",
        "invalid_order_status",
        "amount_status_mismatch",
        "ingest_date_mismatch",
    ),
}
WARN_CODES: dict[str, tuple[str, ...]] = {
    "customers": ("invalid_email", "unknown_country", "unknown_customer_status"),
    "events": ("missing_platform", "missing_session_id", "missing_duration"),
    "orders": ("amount_rounded",),
}

# Accepted spellings (all fold to the pipeline's canonical vocabularies).
NULL_MARKERS = ("", "N/A", "null", "-")
COUNTRIES = (
    "US", "us", "usa", "USA", "United States", "uk", "UK", "GB", "United Kingdom", "DE",
    "Germany", "FR", "france", "IN", "India", "NA", "Namibia", "JP", "BR", "Brasil", "CA",
)  # fmt: skip
CUSTOMER_STATUSES = ("active", "ACTIVE", "Active ", "actve", "inactive", "banned", "blocked")
# A product-analytics mix (sessions, feature usage, paywalls, errors) beside the commerce
# events, in the cases and spellings real trackers send.
EVENT_TYPES = (
    "login", "LOGIN", "Logged In", "logout", "Logout", "signup", "sign_up", "Signed Up",
    "feature_use", "FEATURE_USE", "FeatureUse", "Feature Used", "paywall_view", "Paywall View",
    "error", "Error", "session_start", "app_open", "screen_view", "page_view", "PageView",
    "page view", "Page-View", "search", "product_view", "ADD_TO_CART", "addToCart", "checkout",
    "purchase", "Order Completed",
)  # fmt: skip
EVENT_TYPE_WEIGHTS = (
    8, 2, 2, 4, 1, 2, 1, 1,
    10, 3, 2, 2, 4, 1,
    2, 1, 5, 3, 6, 8, 3,
    2, 1, 5, 4, 3, 2, 3,
    2, 1,
)  # fmt: skip
PLATFORMS = ("ios", "iOS", "iPhone", "android", "Android", "AND", "web", "Web", "browser")
CURRENCIES = ("USD", "usd", "$", "EUR", "eur", "€", "GBP", "£", "INR", "JPY")
CURRENCY_WEIGHTS = (30, 8, 6, 14, 5, 4, 10, 3, 10, 10)
CURRENCY_CANON = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 4])  # USD, EUR, GBP, INR, JPY
CURRENCY_SYMBOL = {0: "$", 1: "€"}
ORDER_STATUSES = ("paid", "PAID", "succeeded", "failed", "refunded", "chargeback")
ORDER_STATUS_WEIGHTS = (45, 10, 15, 15, 10, 5)
FAILED = ORDER_STATUSES.index("failed")
PAID_SPELLINGS = ("paid", "PAID", "succeeded")

# Unacceptable values used by the mess rows.
BAD_TIMESTAMPS = ("bad-ts", "not a date", "2025-13-45 25:61:00", "")
MISSING_IDS = ("", "N/A", "null", " ")
BAD_INGEST_DATE = "2099-01-01"

# Warn-level gap rates on clean rows.
P_MISSING_SESSION = 0.03
P_MISSING_PLATFORM = 0.02
P_MISSING_DURATION = 0.02
P_BAD_EMAIL = 0.02
P_MISSING_EMAIL = 0.02
P_UNKNOWN_COUNTRY = 0.005  # rare: common unknown values raise an alert of their own
P_MISSING_COUNTRY = 0.02
P_UNKNOWN_STATUS = 0.005
P_PADDED_INGEST_DATE = 0.03
LATE_EVENT_SHARE = 0.002
LOW_VOLUME_SHARE = 0.3
PARTIAL_LOAD_HOURS = 6

MAX_DURATION_MS = 86_400_000
SECOND_US = 1_000_000
HOUR_US = 3600 * SECOND_US
DAY_US = 24 * HOUR_US
NO_TIME = np.iinfo(np.int64).min

# Timestamp text formats: (name, family, date/time separator, precision, suffix, offset minutes, weight).
# Offset formats show the local wall time of the same instant.
TS_FORMATS: tuple[tuple[str, str, str, str, str, int, float], ...] = (
    ("naive_space", "naive", " ", "s", "", 0, 0.22),
    ("naive_space_ms", "naive", " ", "ms", "", 0, 0.04),
    ("naive_space_us", "naive", " ", "us", "", 0, 0.03),
    ("naive_t", "naive", "T", "s", "", 0, 0.12),
    ("naive_t_us", "naive", "T", "us", "", 0, 0.03),
    ("z", "z", "T", "s", "Z", 0, 0.15),
    ("z_ms", "z", "T", "ms", "Z", 0, 0.05),
    ("z_us", "z", "T", "us", "Z", 0, 0.03),
    ("offset_m0500", "offset", "T", "s", "-05:00", -300, 0.07),
    ("offset_p0530", "offset", "T", "s", "+05:30", 330, 0.07),
    ("offset_p0100", "offset", "T", "s", "+01:00", 60, 0.06),
    ("offset_m0800", "offset", "T", "s", "-08:00", -480, 0.06),
    ("offset_p0000", "offset", "T", "s", "+00:00", 0, 0.02),
    ("offset_p0530_ms", "offset", "T", "ms", "+05:30", 330, 0.03),
    ("offset_m0500_us", "offset", "T", "us", "-05:00", -300, 0.02),
)
_TS_P = np.array([f[6] for f in TS_FORMATS]) / sum(f[6] for f in TS_FORMATS)
_TS_FAMILY = np.array([f[1] for f in TS_FORMATS])
_TS_FRACTIONAL = np.array([f[3] != "s" for f in TS_FORMATS])
_UNIT_US = {"s": SECOND_US, "ms": 1000, "us": 1}

# Amount text formats.
AMT_PLAIN, AMT_ONE_DECIMAL, AMT_INTEGER, AMT_SYMBOL, AMT_SYMBOL_INTEGER, AMT_THREE_DECIMALS = range(6)
AMOUNT_FORMAT_P = (0.55, 0.1, 0.1, 0.12, 0.05, 0.08)


# --------------------------------------------------------------------------------------
# Vectorised helpers
# --------------------------------------------------------------------------------------


def _s(values) -> pa.Array:
    return pa.array(list(values), pa.string())


def _ints_str(x: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(x, dtype=np.int64)), pa.string())


def _fmt_ids(prefix: str, nums: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + ``nums`` zero-padded to ``width`` digits (nums < 10**width)."""
    s = _ints_str(np.asarray(nums, dtype=np.int64) + 10**width)
    return pc.utf8_replace_slice(s, start=0, stop=1, replacement=prefix)


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _pick(rng: np.random.Generator, vocab, n: int, p=None) -> tuple[pa.Array, np.ndarray]:
    """Draw ``n`` values of ``vocab``: the string array and the drawn indexes."""
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    idx = rng.choice(len(vocab), size=n, p=p)
    return _s(vocab).take(pa.array(idx)), idx


def _replace(arr: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    """Replace ``arr`` where ``mask``; ``values`` are given in ascending position order."""
    if not mask.any():
        return arr
    return pc.replace_with_mask(arr, pa.array(mask), values)


def _pad(rng: np.random.Generator, arr: pa.Array) -> pa.Array:
    """Surround every value with whitespace (left, right or both)."""
    n = len(arr)
    variant = rng.integers(0, 4, n)
    left = _s([" ", "", " ", "  "]).take(pa.array(variant))
    right = _s(["", " ", " ", ""]).take(pa.array(variant))
    return _join(left, arr, right)


def _format_times(instants: np.ndarray, kinds: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Text for UTC instants (int64 microseconds) in the given formats.

    Returns the strings and the instants the strings actually denote (truncated to
    the precision of their format).
    """
    n = len(instants)
    if n == 0:
        return pa.array([], pa.string()), instants.copy()
    order = np.argsort(kinds, kind="stable")
    bounds = np.searchsorted(kinds[order], np.arange(len(TS_FORMATS) + 1))
    truncated = instants.copy()
    pieces = []
    for k, (_, _, sep, unit, suffix, offset_min, _) in enumerate(TS_FORMATS):
        sel = order[bounds[k] : bounds[k + 1]]
        if len(sel) == 0:
            continue
        div = _UNIT_US[unit]
        truncated[sel] = instants[sel] - instants[sel] % div
        local = pa.array(instants[sel] + offset_min * 60 * SECOND_US, pa.timestamp("us"))
        text = pc.cast(local.cast(pa.timestamp(unit), safe=False), pa.string())  # "YYYY-MM-DD HH:MM:SS[.f]"
        if sep == "T":
            text = pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")
        if suffix:
            text = _join(text, suffix)
        pieces.append(text)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return pa.concat_arrays(pieces).take(pa.array(inverse)), truncated


def _ingest_col(rng: np.random.Generator, n: int, day: str) -> pa.Array:
    vocab = (day, " " + day, day + " ", " " + day + " ")
    p = (1 - P_PADDED_INGEST_DATE, P_PADDED_INGEST_DATE / 3, P_PADDED_INGEST_DATE / 3, P_PADDED_INGEST_DATE / 3)
    return _pick(rng, vocab, n, p)[0]


def _null_markers(rng: np.random.Generator, n: int) -> pa.Array:
    return _pick(rng, NULL_MARKERS, n)[0]


# --------------------------------------------------------------------------------------
# Row blocks: columns plus per-row ground truth
# --------------------------------------------------------------------------------------


@dataclass
class Block:
    cols: dict[str, pa.Array]
    label: np.ndarray  # int16 row label (CLEAN, DROPPED or LABEL[code])
    instant: np.ndarray  # int64 UTC microseconds denoted by the time column, NO_TIME if none
    tkind: np.ndarray  # int16 index into TS_FORMATS, -1 if the time text is not a timestamp
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # per-row booleans (warns, features)
    aux: dict[str, np.ndarray] = field(default_factory=dict)  # per-row numbers (amount cents, ...)

    @property
    def n(self) -> int:
        return len(self.label)

    def take(self, idx: np.ndarray) -> Block:
        ix = pa.array(np.asarray(idx, dtype=np.int64))
        return Block(
            cols={k: v.take(ix) for k, v in self.cols.items()},
            label=self.label[idx].copy(),
            instant=self.instant[idx].copy(),
            tkind=self.tkind[idx].copy(),
            flags={k: v[idx].copy() for k, v in self.flags.items()},
            aux={k: v[idx].copy() for k, v in self.aux.items()},
        )

    def set(self, col: str, start: int, stop: int, values: pa.Array) -> None:
        mask = np.zeros(self.n, dtype=bool)
        mask[start:stop] = True
        self.cols[col] = _replace(self.cols[col], mask, values)

    def flag(self, name: str) -> np.ndarray:
        return self.flags.get(name, np.zeros(self.n, dtype=bool))


def _concat(blocks: list[Block]) -> Block:
    blocks = [b for b in blocks if b.n]
    flag_names = sorted({k for b in blocks for k in b.flags})
    aux_names = sorted({k for b in blocks for k in b.aux})
    return Block(
        cols={c: pa.concat_arrays([b.cols[c] for b in blocks]) for c in blocks[0].cols},
        label=np.concatenate([b.label for b in blocks]),
        instant=np.concatenate([b.instant for b in blocks]),
        tkind=np.concatenate([b.tkind for b in blocks]),
        flags={k: np.concatenate([b.flag(k) for b in blocks]) for k in flag_names},
        aux={k: np.concatenate([b.aux.get(k, np.zeros(b.n, np.int64)) for b in blocks]) for k in aux_names},
    )


def _time_block(rng: np.random.Generator, instants: np.ndarray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    kinds = rng.choice(len(TS_FORMATS), size=len(instants), p=_TS_P).astype(np.int16)
    text, truncated = _format_times(instants, kinds)
    return text, truncated, kinds


# --------------------------------------------------------------------------------------
# Row makers (every row they make is clean; warn-level gaps included)
# --------------------------------------------------------------------------------------


@dataclass
class Widths:
    customer: int
    event: int
    order: int
    session: int = 9


def _customer_rows(rng, nums: np.ndarray, day: str, day_end_us: int, w: Widths) -> Block:
    n = len(nums)
    ids = _fmt_ids("C", nums, w.customer)
    email = _join("user", _ints_str(nums), "@example.com")
    state = rng.choice(3, size=n, p=[1 - P_BAD_EMAIL - P_MISSING_EMAIL, P_BAD_EMAIL, P_MISSING_EMAIL])
    email = _replace(email, state == 1, _s(["not-an-email"] * int((state == 1).sum())))
    email = _replace(email, state == 2, _null_markers(rng, int((state == 2).sum())))
    created = day_end_us - 1 - rng.integers(0, 3 * 365 * DAY_US, n)
    created_text, created, kinds = _time_block(rng, created)
    country_vocab = COUNTRIES + ("Atlantis",) + NULL_MARKERS
    p_known = (1 - P_UNKNOWN_COUNTRY - P_MISSING_COUNTRY) / len(COUNTRIES)
    country, cidx = _pick(
        rng,
        country_vocab,
        n,
        [p_known] * len(COUNTRIES) + [P_UNKNOWN_COUNTRY] + [P_MISSING_COUNTRY / len(NULL_MARKERS)] * len(NULL_MARKERS),
    )
    status_vocab = CUSTOMER_STATUSES + ("zombie",)
    status, sidx = _pick(
        rng,
        status_vocab,
        n,
        [(1 - P_UNKNOWN_STATUS) / len(CUSTOMER_STATUSES)] * len(CUSTOMER_STATUSES) + [P_UNKNOWN_STATUS],
    )
    return Block(
        cols={
            "customer_id": ids,
            "email": email,
            "created_at": created_text,
            "country": country,
            "status": status,
            "ingest_date": _ingest_col(rng, n, day),
        },
        label=np.zeros(n, np.int16),
        instant=created,
        tkind=kinds,
        flags={
            "invalid_email": state != 0,
            "email_not_an_address": state == 1,
            "email_missing": state == 2,
            "unknown_country": cidx >= len(COUNTRIES),
            "country_unmapped": cidx == len(COUNTRIES),
            "country_missing": cidx > len(COUNTRIES),
            "unknown_customer_status": sidx == len(CUSTOMER_STATUSES),
        },
        aux={"customer_num": np.asarray(nums, np.int64)},
    )


def _duration_col(rng, n: int) -> tuple[pa.Array, np.ndarray]:
    dur = np.clip(np.rint(rng.lognormal(9.5, 1.4, n)), 0, MAX_DURATION_MS).astype(np.int64)
    fmt = rng.choice(4, size=n, p=[0.7, 0.1, 0.1, 0.1])  # plain, "x.0", "1.2e5", padded
    sci = fmt == 2
    mant = rng.integers(10, 100, int(sci.sum()))
    exp = rng.integers(2, 6, int(sci.sum()))
    dur[sci] = mant * 10**exp
    text = _ints_str(dur)
    text = pc.if_else(pa.array(fmt == 1), _join(text, ".0"), text)
    text = _replace(text, sci, _join(_ints_str(mant // 10), ".", _ints_str(mant % 10), "e", _ints_str(exp + 1)))
    text = pc.if_else(pa.array(fmt == 3), _pad(rng, text), text)
    missing = rng.random(n) < P_MISSING_DURATION
    text = _replace(text, missing, _null_markers(rng, int(missing.sum())))
    return text, missing


def _event_rows(rng, ids: np.ndarray, instants: np.ndarray, master_size: int, day: str, w: Widths) -> Block:
    n = len(ids)
    time_text, instants, kinds = _time_block(rng, instants)
    plat_vocab = PLATFORMS + NULL_MARKERS
    platform, pidx = _pick(
        rng,
        plat_vocab,
        n,
        [(1 - P_MISSING_PLATFORM) / len(PLATFORMS)] * len(PLATFORMS)
        + [P_MISSING_PLATFORM / len(NULL_MARKERS)] * len(NULL_MARKERS),
    )
    session = _fmt_ids("S", rng.integers(0, 10**w.session, n), w.session)
    no_session = rng.random(n) < P_MISSING_SESSION
    session = _replace(session, no_session, _null_markers(rng, int(no_session.sum())))
    duration, no_duration = _duration_col(rng, n)
    return Block(
        cols={
            "event_id": _fmt_ids("E", ids, w.event),
            "customer_id": _fmt_ids("C", rng.integers(1, master_size + 1, n), w.customer),
            "event_time": time_text,
            "event_type": _pick(rng, EVENT_TYPES, n, EVENT_TYPE_WEIGHTS)[0],
            "platform": platform,
            "session_id": session,
            "duration_ms": duration,
            "ingest_date": _ingest_col(rng, n, day),
        },
        label=np.zeros(n, np.int16),
        instant=instants,
        tkind=kinds,
        flags={
            "missing_platform": pidx >= len(PLATFORMS),
            "missing_session_id": no_session,
            "missing_duration": no_duration,
        },
    )


def _plain_amount(cents: np.ndarray) -> pa.Array:
    return _join(_ints_str(cents // 100), ".", pc.utf8_lpad(_ints_str(cents % 100), width=2, padding="0"))


def _amount_text(rng, cents: np.ndarray, fmt: np.ndarray, currency_canon: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Amount strings in the chosen formats. ``cents`` is adjusted in place to what the text says."""
    cents[fmt == AMT_ONE_DECIMAL] -= cents[fmt == AMT_ONE_DECIMAL] % 10
    integer = (fmt == AMT_INTEGER) | (fmt == AMT_SYMBOL_INTEGER)
    cents[integer] -= cents[integer] % 100
    whole = cents // 100
    frac2 = pc.utf8_lpad(_ints_str(cents % 100), width=2, padding="0")
    text = _plain_amount(cents)
    one_decimal = _join(_ints_str(whole), ".", _ints_str((cents % 100) // 10))
    text = pc.if_else(pa.array(fmt == AMT_ONE_DECIMAL), one_decimal, text)
    text = pc.if_else(pa.array(integer), _ints_str(whole), text)
    # Thousands separators for symbol amounts of 1,000 and more.
    thousands = _join(_ints_str(whole // 1000), ",", pc.utf8_lpad(_ints_str(whole % 1000), width=3, padding="0"))
    grouped = pc.if_else(pa.array(whole >= 1000), thousands, _ints_str(whole))
    symbol = _s(["", CURRENCY_SYMBOL[0], CURRENCY_SYMBOL[1]]).take(
        pa.array(np.where(currency_canon == 0, 1, np.where(currency_canon == 1, 2, 0)))
    )
    text = pc.if_else(pa.array(fmt == AMT_SYMBOL), _join(symbol, grouped, ".", frac2), text)
    text = pc.if_else(pa.array(fmt == AMT_SYMBOL_INTEGER), _join(symbol, grouped), text)
    three = fmt == AMT_THREE_DECIMALS
    milli = cents[three] * 10 + rng.integers(1, 10, int(three.sum()))
    text = _replace(
        text, three, _join(_ints_str(milli // 1000), ".", pc.utf8_lpad(_ints_str(milli % 1000), width=3, padding="0"))
    )
    return text, three


def _order_rows(rng, ids: np.ndarray, instants: np.ndarray, master_size: int, day: str, w: Widths) -> Block:
    n = len(ids)
    time_text, instants, kinds = _time_block(rng, instants)
    status, sidx = _pick(rng, ORDER_STATUSES, n, ORDER_STATUS_WEIGHTS)
    currency, cur_idx = _pick(rng, CURRENCIES, n, CURRENCY_WEIGHTS)
    canon = CURRENCY_CANON[cur_idx]
    cents = np.clip(np.rint(rng.lognormal(4.0, 1.3, n) * 100), 100, 5_000_000).astype(np.int64)
    zero = (sidx == FAILED) & (rng.random(n) < 0.3)
    cents[zero] = 0
    fmt = rng.choice(6, size=n, p=AMOUNT_FORMAT_P)
    fmt[(fmt == AMT_SYMBOL) & (canon > 1)] = AMT_PLAIN  # currency symbols only for USD / EUR rows
    fmt[(fmt == AMT_SYMBOL_INTEGER) & (canon > 1)] = AMT_INTEGER
    fmt[zero & (fmt >= AMT_SYMBOL)] = AMT_INTEGER  # zero amounts read "0" or "0.00"
    big = (fmt == AMT_SYMBOL) & (rng.random(n) < 0.3)  # "$1,234.50": thousands separators
    cents[big] = rng.integers(100_000, 1_000_000, _count(big))
    amount, rounded = _amount_text(rng, cents, fmt, canon)
    return Block(
        cols={
            "order_id": _fmt_ids("O", ids, w.order),
            "customer_id": _fmt_ids("C", rng.integers(1, master_size + 1, n), w.customer),
            "order_time": time_text,
            "amount": amount,
            "currency": currency,
            "status": status,
            "ingest_date": _ingest_col(rng, n, day),
        },
        label=np.zeros(n, np.int16),
        instant=instants,
        tkind=kinds,
        flags={
            "amount_rounded": rounded,
            "zero_amount_failed": zero,
            "amount_thousands_separator": np.isin(fmt, (AMT_SYMBOL, AMT_SYMBOL_INTEGER)) & (cents >= 100_000),
            "amount_currency_symbol": np.isin(fmt, (AMT_SYMBOL, AMT_SYMBOL_INTEGER)),
        },
        aux={"cents": cents},
    )


# --------------------------------------------------------------------------------------
# Mess: reject rows and duplicates
# --------------------------------------------------------------------------------------


def _mess_k(mess_rate: float, n_base: int) -> int:
    return max(1, int(round(mess_rate * n_base))) if n_base >= 100 else 0


def _break_rows(
    rng, block: Block, entity: str, k: int, orphan_ids: pa.Array | None, orphan_next: np.ndarray | None
) -> None:
    """Turn consecutive slices of ``k`` template rows into one reject kind each (in place)."""
    id_col = COLUMNS[entity][0]
    time_col = COLUMNS[entity][2]
    for i, code in enumerate(MESS_KINDS[entity]):
        a, b = i * k, (i + 1) * k
        block.label[a:b] = LABEL[code]
        if code.startswith("missing_") and code.endswith("_id"):
            block.set(id_col, a, b, _pick(rng, MISSING_IDS, k)[0])
        elif code in ("invalid_created_at", "invalid_event_time", "invalid_order_time"):
            block.set(time_col, a, b, _pick(rng, BAD_TIMESTAMPS, k)[0])
            block.instant[a:b] = NO_TIME
            block.tkind[a:b] = -1
        elif code == "orphan_customer_id":
            block.set("customer_id", a, b, orphan_ids)
            block.flags["orphan_next_day"] = np.zeros(block.n, bool)
            block.flags["orphan_next_day"][a:b] = orphan_next
        elif code == "invalid_event_type":
            block.set("event_type", a, b, _pick(rng, ("teleport", ""), k)[0])
        elif code == "unknown_platform":
            block.set("platform", a, b, _s(["playstation"] * k))
        elif code == "invalid_duration":
            block.set("duration_ms", a, b, _pick(rng, ("-5", "99999999999", "abc"), k)[0])
        elif code == "invalid_amount":
            block.set("amount", a, b, _pick(rng, ("-5.00", "abc", ""), k)[0])
            block.set("status", a, b, _s(["failed"] * k))  # failed allows any amount: one rule only
        elif code == "invalid_currency":
            block.set("currency", a, b, _pick(rng, ("XYZ", ""), k)[0])
            block.set("amount", a, b, _plain_amount(block.aux["cents"][a:b]))  # no currency symbol in amount
        elif code == "invalid_order_status":
            block.set("status", a, b, _pick(rng, ("pending", ""), k)[0])
        elif code == "amount_status_mismatch":
            block.set("status", a, b, _pick(rng, PAID_SPELLINGS, k)[0])
            block.set("amount", a, b, _pick(rng, ("0", "0.00"), k)[0])
        elif code == "ingest_date_mismatch":
            block.set("ingest_date", a, b, _s([BAD_INGEST_DATE] * k))
        else:  # pragma: no cover - MESS_KINDS and this switch are kept in step
            raise AssertionError(code)


def _dup_sources(rng, candidates: np.ndarray, winner_ok: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint row sets: ``k`` id-duplicate sources (winner property required) and ``k`` full-row sources."""
    pool = np.flatnonzero(candidates & winner_ok)
    id_src = np.sort(rng.choice(pool, size=min(k, len(pool)), replace=False))
    rest = candidates.copy()
    rest[id_src] = False
    pool = np.flatnonzero(rest)
    full_src = np.sort(rng.choice(pool, size=min(k, len(pool)), replace=False))
    return id_src, full_src


def _full_row_copies(rng, base: Block, src: np.ndarray, entity: str) -> Block:
    copies = base.take(src)
    copies.label[:] = DROPPED
    k = copies.n
    padded = np.zeros(k, dtype=bool)
    padded[rng.permutation(k)[: k // 2]] = True
    for j, col in enumerate(COLUMNS[entity]):
        mask = padded if j == 0 else padded & (rng.random(k) < 0.5)
        if mask.any():
            copies.cols[col] = _replace(copies.cols[col], mask, _pad(rng, copies.cols[col].filter(pa.array(mask))))
    copies.flags = {"padded_copy": padded}
    return copies


def _id_copies(rng, base: Block, src: np.ndarray, entity: str) -> Block:
    copies = base.take(src)
    k = copies.n
    if entity == "events":
        copies.label[:] = LABEL["duplicate_event_id"]
        copies.cols["session_id"] = _null_markers(rng, k)
    elif entity == "customers":
        copies.label[:] = LABEL["duplicate_customer_id"]
        copies.cols["email"] = _s(["not-an-email"] * k)
    else:
        copies.label[:] = LABEL["duplicate_order_id"]
        copies.instant = copies.instant - HOUR_US  # the latest order_time (the base row) wins
        copies.cols["order_time"], _ = _format_times(copies.instant, copies.tkind)
    copies.flags = {}
    return copies


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def _day_start_us(day: dt.date) -> int:
    return int((dt.datetime(day.year, day.month, day.day) - dt.datetime(1970, 1, 1)).total_seconds()) * SECOND_US


def _parse_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _count(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def _expected(block: Block, entity: str) -> dict:
    counts = np.bincount(block.label, minlength=len(REJECT_CODES) + 2)
    clean = block.label == CLEAN
    out = {
        "total": int(block.n),
        "clean": int(counts[CLEAN]),
        "quarantine": int(block.n - counts[CLEAN] - counts[DROPPED]),
        "dropped_duplicates": int(counts[DROPPED]),
        "by_reason": {code: int(counts[LABEL[code]]) for code in REJECT_CODES if counts[LABEL[code]]},
        "warn_by_reason": {code: _count(block.flag(code) & clean) for code in WARN_CODES[entity]},
    }
    assert out["total"] == out["clean"] + out["quarantine"] + out["dropped_duplicates"]
    return out


def _timestamp_features(block: Block) -> dict:
    clean = (block.label == CLEAN) & (block.tkind >= 0)
    kinds = block.tkind[clean]
    return {
        "naive_timestamps": _count(_TS_FAMILY[kinds] == "naive"),
        "z_timestamps": _count(_TS_FAMILY[kinds] == "z"),
        "offset_timestamps": _count(_TS_FAMILY[kinds] == "offset"),
        "fractional_timestamps": _count(_TS_FRACTIONAL[kinds]),
    }


def _shuffle_table(rng, block: Block, entity: str) -> pa.Table:
    perm = pa.array(rng.permutation(block.n))
    return pa.table({c: block.cols[c].take(perm) for c in COLUMNS[entity]})


def _write(table: pa.Table, path: Path, use_gzip: bool) -> None:
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    # A plain file and a .gz of the same feed in one folder would be read twice.
    sibling = path.with_suffix("") if use_gzip else path.with_name(path.name + ".gz")
    if sibling.exists():
        sibling.unlink()
    if use_gzip:
        with pa.CompressedOutputStream(str(path), "gzip") as sink:  # zero mtime: deterministic bytes
            pacsv.write_csv(table, sink, options)
    else:
        pacsv.write_csv(table, str(path), options)


def generate(
    out_dir,
    start,
    end,
    seed: int = 42,
    customers: int = 1000,
    events: int = 20000,
    orders: int = 2000,
    partial_load_every: int = 0,
    low_volume_day=None,
    mess_rate: float = 0.01,
    gzip: bool = False,
) -> dict:
    """Generate raw feeds for every day in [start, end] into ``out_dir``; return the manifest."""
    start_d, end_d = _parse_date(start), _parse_date(end)
    if end_d < start_d:
        raise ValueError(f"end {end_d} is before start {start_d}")
    low_d = _parse_date(low_volume_day) if low_volume_day else None
    if low_d is not None and not start_d <= low_d <= end_d:
        raise ValueError(f"low_volume_day {low_d} is outside {start_d}..{end_d}")
    if min(events, orders, partial_load_every) < 0 or customers < 1 or not 0 <= mess_rate <= 1:
        raise ValueError("customers must be >= 1, other counts >= 0 and mess_rate within [0, 1]")
    days = [start_d + dt.timedelta(days=i) for i in range((end_d - start_d).days + 1)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext = ".csv.gz" if gzip else ".csv"

    # Customer numbering: day d delivers n_new[d] new customers, numbered after all earlier
    # ones; ids above the last clean customer are "ghosts" (rejected customers, orphans).
    n_new, cum_new = [], [0]
    for i in range(len(days)):
        redeliver = min(customers // 2, cum_new[-1]) if i else 0
        n_new.append(customers - redeliver)
        cum_new.append(cum_new[-1] + n_new[-1])
    next_ghost = cum_new[-1] + 1
    bound = len(days) * (customers + events + orders + 10)
    widths = Widths(
        customer=max(8, len(str(cum_new[-1] + bound))),
        event=max(10, len(str(bound))),
        order=max(10, len(str(bound))),
    )
    next_event = next_order = 1
    master: list[Block] = []  # first clean delivery of every customer, in number order

    manifest: dict = {
        "generator": "prodq",
        "seed": seed,
        "params": {
            "start": start_d.isoformat(),
            "end": end_d.isoformat(),
            "seed": seed,
            "customers": customers,
            "events": events,
            "orders": orders,
            "partial_load_every": partial_load_every,
            "low_volume_day": low_d.isoformat() if low_d else None,
            "mess_rate": mess_rate,
            "gzip": bool(gzip),
        },
        "days": {},
    }

    for d, day in enumerate(days):
        day_s = day.isoformat()
        day_start = _day_start_us(day)
        day_end = day_start + DAY_US
        master_size = cum_new[d + 1]  # clean customers delivered on this day or earlier
        folder = out / f"ingest_date={day_s}"
        folder.mkdir(parents=True, exist_ok=True)
        expected: dict = {}
        injected: dict = {}
        next_day_new = np.arange(cum_new[d + 1] + 1, cum_new[d + 2] + 1 if d + 1 < len(days) else cum_new[d + 1] + 1)

        def orphans(rng, k: int) -> tuple[pa.Array, np.ndarray]:
            """k orphan customer ids: about half first delivered on the next day, the rest never."""
            nonlocal next_ghost
            is_next = np.zeros(k, dtype=bool)
            if len(next_day_new):
                is_next[rng.permutation(k)[: k // 2]] = True
            nums = np.empty(k, dtype=np.int64)
            nums[is_next] = rng.choice(next_day_new, size=_count(is_next), replace=True)
            n_ghost = _count(~is_next)
            nums[~is_next] = np.arange(next_ghost, next_ghost + n_ghost)
            next_ghost += n_ghost
            return _fmt_ids("C", nums, widths.customer), is_next

        # ---- customers ------------------------------------------------------------------
        rng = np.random.default_rng([seed, d, ENTITY_SEED["customers"]])
        new_nums = np.arange(cum_new[d] + 1, cum_new[d + 1] + 1)
        new = _customer_rows(rng, new_nums, day_s, day_end, widths)
        redeliver = customers - n_new[d]
        parts = [new]
        if redeliver:
            old = _concat(master).take(np.sort(rng.choice(cum_new[d], size=redeliver, replace=False)))
            old.cols["ingest_date"] = _ingest_col(rng, redeliver, day_s)
            old.flags["redelivered"] = np.ones(redeliver, dtype=bool)
            parts.append(old)
        master.append(new)
        base = _concat(parts)
        k = _mess_k(mess_rate, base.n)
        mess = _customer_rows(rng, np.arange(next_ghost, next_ghost + k * 3), day_s, day_end, widths)
        next_ghost += k * 3
        _break_rows(rng, mess, "customers", k, None, None)
        id_src, full_src = _dup_sources(rng, np.ones(base.n, bool), ~base.flag("invalid_email"), k)
        block = _concat(
            [base, mess, _full_row_copies(rng, base, full_src, "customers"), _id_copies(rng, base, id_src, "customers")]
        )
        _write(_shuffle_table(rng, block, "customers"), folder / (FILE_PREFIX["customers"] + ext), gzip)
        expected["customers"] = _expected(block, "customers") | {"clean_ids_cumulative_count": int(master_size)}
        clean = block.label == CLEAN
        injected["customers"] = {
            "new_customers": int(n_new[d]),
            "redelivered_customers": int(redeliver),
            "full_row_duplicates": int(len(full_src)),
            "full_row_duplicates_padded": _count(block.flag("padded_copy")),
            "id_duplicates": int(len(id_src)),
            "email_not_an_address": _count(block.flag("email_not_an_address") & clean),
            "email_missing": _count(block.flag("email_missing") & clean),
            "country_unmapped": _count(block.flag("country_unmapped") & clean),
            "country_missing": _count(block.flag("country_missing") & clean),
            "status_unknown": _count(block.flag("unknown_customer_status") & clean),
        } | _timestamp_features(block)

        # ---- events ---------------------------------------------------------------------
        rng = np.random.default_rng([seed, d, ENTITY_SEED["events"]])
        n_base = int(round(events * LOW_VOLUME_SHARE)) if day == low_d else events
        k = _mess_k(mess_rate, n_base)
        n_late = int(round(LATE_EVENT_SHARE * n_base))
        if n_base >= 1000:
            n_late = max(1, n_late)
        n_mess = k * len(MESS_KINDS["events"])
        ids = np.arange(next_event, next_event + n_base + n_late + n_mess)
        next_event += len(ids)
        base = _event_rows(rng, ids[:n_base], day_start + rng.integers(0, DAY_US, n_base), master_size, day_s, widths)
        late_instants = day_start - HOUR_US + rng.integers(0, HOUR_US, n_late)  # 23:xx of the previous day
        late = _event_rows(rng, ids[n_base : n_base + n_late], late_instants, master_size, day_s, widths)
        late.flags["late"] = np.ones(n_late, dtype=bool)
        mess_instants = day_start + rng.integers(0, DAY_US, n_mess)
        mess = _event_rows(rng, ids[n_base + n_late :], mess_instants, master_size, day_s, widths)
        orphan_ids, orphan_next = orphans(rng, k)
        _break_rows(rng, mess, "events", k, orphan_ids, orphan_next)
        hours: list[int] = []
        dropped_base = dropped_mess = 0
        if partial_load_every and d % partial_load_every == 0:
            hour_rng = np.random.default_rng([seed, d, ENTITY_SEED["partial_load"]])
            first = int(hour_rng.integers(0, 24 - PARTIAL_LOAD_HOURS + 1))
            hours = list(range(first, first + PARTIAL_LOAD_HOURS))
            lo, hi = day_start + first * HOUR_US, day_start + (first + PARTIAL_LOAD_HOURS) * HOUR_US

            def keep(b: Block) -> np.ndarray:
                return ~((b.instant >= lo) & (b.instant < hi))

            kb, km = keep(base), keep(mess)
            dropped_base, dropped_mess = _count(~kb), _count(~km)
            base, mess = base.take(np.flatnonzero(kb)), mess.take(np.flatnonzero(km))
        id_src, full_src = _dup_sources(rng, np.ones(base.n, bool), ~base.flag("missing_session_id"), k)
        block = _concat(
            [base, late, mess, _full_row_copies(rng, base, full_src, "events"), _id_copies(rng, base, id_src, "events")]
        )
        _write(_shuffle_table(rng, block, "events"), folder / (FILE_PREFIX["events"] + ext), gzip)
        clean = block.label == CLEAN
        in_day = clean & (block.instant >= day_start) & (block.instant < day_end)
        hourly = np.bincount((block.instant[in_day] - day_start) // HOUR_US, minlength=24)
        expected["events"] = _expected(block, "events") | {
            "events_outside_day": _count(clean & (block.instant != NO_TIME) & ~in_day),
            "hourly_clean_events": [int(x) for x in hourly],
        }
        orphan_rows = block.label == LABEL["orphan_customer_id"]
        injected["events"] = {
            "base_events": int(n_base),
            "late_events": _count(block.flag("late")),
            "partial_load_dropped": dropped_base + dropped_mess,
            "partial_load_dropped_mess": dropped_mess,
            "full_row_duplicates": int(len(full_src)),
            "full_row_duplicates_padded": _count(block.flag("padded_copy")),
            "id_duplicates": int(len(id_src)),
            "orphan_next_day_customer": _count(orphan_rows & block.flag("orphan_next_day")),
            "orphan_unknown_customer": _count(orphan_rows & ~block.flag("orphan_next_day")),
            "missing_session_id": _count(block.flag("missing_session_id") & clean),
            "missing_platform": _count(block.flag("missing_platform") & clean),
            "missing_duration": _count(block.flag("missing_duration") & clean),
        } | _timestamp_features(block)

        # ---- orders ---------------------------------------------------------------------
        rng = np.random.default_rng([seed, d, ENTITY_SEED["orders"]])
        k = _mess_k(mess_rate, orders)
        n_mess = k * len(MESS_KINDS["orders"])
        ids = np.arange(next_order, next_order + orders + n_mess)
        next_order += len(ids)
        base = _order_rows(rng, ids[:orders], day_start + rng.integers(0, DAY_US, orders), master_size, day_s, widths)
        mess = _order_rows(rng, ids[orders:], day_start + rng.integers(0, DAY_US, n_mess), master_size, day_s, widths)
        orphan_ids, orphan_next = orphans(rng, k)
        _break_rows(rng, mess, "orders", k, orphan_ids, orphan_next)
        id_src, full_src = _dup_sources(rng, np.ones(base.n, bool), np.ones(base.n, bool), k)
        block = _concat(
            [base, mess, _full_row_copies(rng, base, full_src, "orders"), _id_copies(rng, base, id_src, "orders")]
        )
        _write(_shuffle_table(rng, block, "orders"), folder / (FILE_PREFIX["orders"] + ext), gzip)
        clean = block.label == CLEAN
        orphan_rows = block.label == LABEL["orphan_customer_id"]
        expected["orders"] = _expected(block, "orders")
        injected["orders"] = {
            "full_row_duplicates": int(len(full_src)),
            "full_row_duplicates_padded": _count(block.flag("padded_copy")),
            "id_duplicates": int(len(id_src)),
            "orphan_next_day_customer": _count(orphan_rows & block.flag("orphan_next_day")),
            "orphan_unknown_customer": _count(orphan_rows & ~block.flag("orphan_next_day")),
            "amount_rounded": _count(block.flag("amount_rounded") & clean),
            "zero_amount_failed": _count(block.flag("zero_amount_failed") & clean),
            "amount_currency_symbol": _count(block.flag("amount_currency_symbol") & clean),
            "amount_thousands_separator": _count(block.flag("amount_thousands_separator") & clean),
        } | _timestamp_features(block)

        manifest["days"][day_s] = {
            "day_index": d,
            "partial_load_hours": hours,
            "low_volume": day == low_d,
            "files": {e: f"ingest_date={day_s}/{FILE_PREFIX[e]}{ext}" for e in ("customers", "events", "orders")},
            "expected": expected,
            "injected": injected,
        }

    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prodq generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out_dir", "--out-dir", required=True, help="root folder for ingest_date=D/ folders")
    parser.add_argument("--start", required=True, help="first ingest day, YYYY-MM-DD")
    parser.add_argument("--end", required=True, help="last ingest day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--customers", type=int, default=1000, help="base customer rows per day")
    parser.add_argument("--events", type=int, default=20000, help="base event rows per day")
    parser.add_argument("--orders", type=int, default=2000, help="base order rows per day")
    parser.add_argument(
        "--partial-load-every", "--partial_load_every", type=int, default=0, dest="partial_load_every",
        help="days 0, N, 2N, ... lose 6 consecutive UTC hours of events (0 = off)",
    )  # fmt: skip
    parser.add_argument("--low-volume-day", "--low_volume_day", default=None, dest="low_volume_day",
                        help="this day gets 30%% of the base events")  # fmt: skip
    parser.add_argument("--mess-rate", "--mess_rate", type=float, default=0.01, dest="mess_rate",
                        help="reject rows of each kind per base row (>= 1 when a feed has >= 100 rows)")  # fmt: skip
    parser.add_argument("--gzip", action="store_true", help="write .csv.gz files")
    args = parser.parse_args(argv)
    try:
        manifest = generate(
            args.out_dir,
            args.start,
            args.end,
            seed=args.seed,
            customers=args.customers,
            events=args.events,
            orders=args.orders,
            partial_load_every=args.partial_load_every,
            low_volume_day=args.low_volume_day,
            mess_rate=args.mess_rate,
            gzip=args.gzip,
        )
    except ValueError as exc:
        parser.error(str(exc))
    totals = {e: sum(day["expected"][e]["total"] for day in manifest["days"].values()) for e in COLUMNS}
    print(f"wrote {len(manifest['days'])} day(s) to {args.out_dir}: {totals}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
