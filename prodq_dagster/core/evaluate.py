"""Per-entity normalization and rule evaluation (the checks behind the rule catalogue).

Each ``evaluate_<entity>`` turns the raw text table into typed, canonical columns,
one boolean mask per reason code of ``rules.CATALOGUE`` and the ranking keys the
dedupe uses to pick the best record of a duplicated id. Changing a rule means
changing its one masked expression here (and its row in the catalogue).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import normalize as nz
from .contract import CUSTOMERS, EVENTS, MAX_DURATION_MS, ORDERS, Entity
from .timestamps import parse_utc
from .vocab import Vocabularies

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"


@dataclass
class Evaluation:
    """Typed clean columns, reason masks and dedupe ranking keys of one entity-day."""

    columns: dict[str, pa.Array]
    reasons: dict[str, np.ndarray]  # reason code -> mask (reject and warn codes)
    rank_keys: list[np.ndarray] = field(default_factory=list)  # higher is better, lexicographic
    missing: dict[str, np.ndarray] = field(default_factory=dict)  # key raw columns -> null-marker mask
    categories: dict[str, nz.Category] = field(default_factory=dict)  # categorical column -> its lookup


def _col(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def _mask(arr: pa.Array) -> np.ndarray:
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _present(arr: pa.Array) -> np.ndarray:
    return pc.is_valid(arr).to_numpy(zero_copy_only=False)


def _time_rank(ts: pa.Array) -> np.ndarray:
    micros = pc.cast(ts, pa.int64())
    return pc.fill_null(micros, np.iinfo(np.int64).min).to_numpy(zero_copy_only=False)


def _ingest_date_mismatch(table: pa.Table, day: date) -> np.ndarray:
    def mismatch(distinct: pa.Array) -> pa.Array:
        raw = nz.text(distinct)
        return pc.fill_null(pc.and_(pc.is_valid(raw), pc.not_equal(raw, day.isoformat())), False)

    return _mask(nz.by_dictionary(_col(table, "ingest_date"), mismatch))


def _in_master(customer_id: pa.Array, master_ids: pa.Array) -> tuple[np.ndarray, pa.DictionaryArray]:
    """(orphan mask, the customer ids as a dictionary over the master; null for orphans).

    Clean rows are never orphans, so the clean column loses nothing by the encoding, and
    putting it in key order moves 4-byte indices instead of strings (half the time).
    """
    position = pc.index_in(customer_id, value_set=master_ids)
    return ~_present(position), pa.DictionaryArray.from_arrays(position, master_ids)


def evaluate_customers(table: pa.Table, day: date, master_ids: pa.Array | None, vocab: Vocabularies) -> Evaluation:
    customer_id = nz.text(_col(table, "customer_id"))
    email = pc.utf8_lower(nz.text(_col(table, "email")))
    created_raw = nz.text(_col(table, "created_at"))
    created = parse_utc(created_raw)
    country_lookup = nz.category(_col(table, "country"), vocab.country)
    status_lookup = nz.category(_col(table, "status"), vocab.customer_status)
    country, status = country_lookup.canonical, status_lookup.canonical

    email_valid = _mask(pc.match_substring_regex(email, EMAIL_PATTERN))
    created_ok = _present(created)
    reasons = {
        "missing_customer_id": ~_present(customer_id),
        "invalid_created_at": ~created_ok,
        "ingest_date_mismatch": _ingest_date_mismatch(table, day),
        "invalid_email": ~email_valid,
        "unknown_country": ~_present(country),
        "unknown_customer_status": ~_present(status),
    }
    columns = {
        "customer_id": customer_id,
        "email": email,
        "email_valid": pa.array(email_valid),
        "created_at_utc": created,
        "country": country,
        "status": status,
    }
    missing = {"customer_id": ~_present(customer_id), "created_at": ~_present(created_raw)}
    categories = {"country": country_lookup, "status": status_lookup}
    return Evaluation(columns, reasons, [email_valid, created_ok, _time_rank(created)], missing, categories)


def evaluate_events(table: pa.Table, day: date, master_ids: pa.Array, vocab: Vocabularies) -> Evaluation:
    event_time_raw = nz.text(_col(table, "event_time"))
    pool = ThreadPoolExecutor(max_workers=1)
    pending_time = pool.submit(parse_utc, event_time_raw)  # overlaps with the columns below
    event_id = nz.text(_col(table, "event_id"))
    customer_id = nz.text(_col(table, "customer_id"))
    type_lookup = nz.category(_col(table, "event_type"), vocab.event_type)
    platform_lookup = nz.category(_col(table, "platform"), vocab.platform)
    event_type, platform_raw, platform = type_lookup.canonical, platform_lookup.present, platform_lookup.canonical
    session_id = nz.text(_col(table, "session_id"))
    duration_raw = nz.text(_col(table, "duration_ms"))
    duration = nz.number(duration_raw)

    event_time = pending_time.result()
    pool.shutdown()
    duration_present = _present(duration_raw)
    duration_ok = _mask(pc.and_(pc.greater_equal(duration, 0), pc.less_equal(duration, MAX_DURATION_MS)))
    platform_present = _present(platform_raw)
    platform_ok = _present(platform)
    time_ok = _present(event_time)
    type_ok = _present(event_type)
    orphan, known_customer = _in_master(customer_id, master_ids)
    session_ok = _present(session_id)
    reasons = {
        "missing_event_id": ~_present(event_id),
        "invalid_event_time": ~time_ok,
        "orphan_customer_id": orphan,
        "invalid_event_type": ~type_ok,
        "unknown_platform": platform_present & ~platform_ok,
        "invalid_duration": duration_present & ~duration_ok,
        "ingest_date_mismatch": _ingest_date_mismatch(table, day),
        "missing_platform": ~platform_present,
        "missing_session_id": ~session_ok,
        "missing_duration": ~duration_present,
    }
    duration_ms = pc.cast(pc.round(pc.if_else(pa.array(duration_ok), duration, pa.scalar(None, pa.float64()))), pa.int64())
    columns = {
        "event_id": event_id,
        "customer_id": known_customer,
        "event_time_utc": event_time,
        "event_type": event_type,
        "platform": platform,
        "session_id": session_id,
        "duration_ms": duration_ms,
    }
    rank = [time_ok, ~orphan, type_ok, platform_ok, session_ok, duration_ok, _time_rank(event_time)]
    missing = {"event_id": ~_present(event_id), "customer_id": ~_present(customer_id), "event_time": ~_present(event_time_raw)}
    return Evaluation(columns, reasons, rank, missing, {"event_type": type_lookup, "platform": platform_lookup})


def evaluate_orders(table: pa.Table, day: date, master_ids: pa.Array, vocab: Vocabularies) -> Evaluation:
    order_id = nz.text(_col(table, "order_id"))
    customer_id = nz.text(_col(table, "customer_id"))
    order_time_raw = nz.text(_col(table, "order_time"))
    order_time = parse_utc(order_time_raw)
    amount, rounded = nz.money(nz.text(_col(table, "amount")))
    currency_lookup = nz.category(_col(table, "currency"), vocab.currency)
    status_lookup = nz.category(_col(table, "status"), vocab.order_status)
    currency, status = currency_lookup.canonical, status_lookup.canonical

    amount_ok = _present(amount)  # null when missing, not a number, negative or too large
    positive = _mask(pc.greater(amount, pa.scalar(0, nz.MONEY_TYPE)))
    status_ok = _present(status)
    needs_positive = _mask(pc.is_in(status, value_set=pa.array(["paid", "refunded", "chargeback"])))
    time_ok = _present(order_time)
    currency_ok = _present(currency)
    orphan, known_customer = _in_master(customer_id, master_ids)
    reasons = {
        "missing_order_id": ~_present(order_id),
        "invalid_order_time": ~time_ok,
        "orphan_customer_id": orphan,
        "invalid_amount": ~amount_ok,
        "invalid_currency": ~currency_ok,
        "invalid_order_status": ~status_ok,
        "amount_status_mismatch": amount_ok & needs_positive & ~positive,
        "ingest_date_mismatch": _ingest_date_mismatch(table, day),
        "amount_rounded": amount_ok & rounded.to_numpy(zero_copy_only=False),
    }
    columns = {
        "order_id": order_id,
        "customer_id": known_customer,
        "order_time_utc": order_time,
        "amount": amount,
        "currency": currency,
        "status": status,
    }
    rank = [time_ok, ~orphan, amount_ok, currency_ok, status_ok, _time_rank(order_time)]
    missing = {"order_id": ~_present(order_id), "customer_id": ~_present(customer_id), "order_time": ~_present(order_time_raw)}
    return Evaluation(columns, reasons, rank, missing, {"currency": currency_lookup, "status": status_lookup})


EVALUATORS = {
    CUSTOMERS.name: evaluate_customers,
    EVENTS.name: evaluate_events,
    ORDERS.name: evaluate_orders,
}


def evaluate(entity: Entity, table: pa.Table, day: date, master_ids: pa.Array | None, vocab: Vocabularies) -> Evaluation:
    return EVALUATORS[entity.name](table, day, master_ids, vocab)
