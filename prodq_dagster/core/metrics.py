"""Daily quality/volume metrics (one wide row per day) and hourly clean event counts.

Business figures use clean rows only; the rates that describe raw quality
(invalid timestamps, orphans, duplicates, null rates) use the day's raw rows.
Columns are fixed by the vocabularies, so every day has the same schema.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .contract import ENTITIES, RULE_SET_VERSION

PERCENTILES = (50, 95)
EVENT_COLUMNS = ["customer_id", "event_time_utc", "event_type", "platform", "duration_ms"]
ORDER_COLUMNS = ["customer_id", "amount", "currency", "status"]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def hours_of_day(event_times: pa.Array, day: date) -> np.ndarray:
    """UTC hour (0-23) of each event inside the ingest day; -1 for events outside it."""
    start, _ = day_bounds(day)
    micros = pc.cast(event_times, pa.int64()).to_numpy(zero_copy_only=False)
    offset = micros - int(start.timestamp() * 1_000_000)
    hours = offset // 3_600_000_000
    return np.where((offset >= 0) & (hours < 24), hours, -1)


def hourly_events(day: date, events_clean: pa.Table) -> pa.Table:
    """24 rows: UTC hour of the ingest day and its clean event count."""
    hours = hours_of_day(events_clean.column("event_time_utc").combine_chunks(), day)
    counts = np.bincount(hours[hours >= 0], minlength=24)[:24]
    return pa.table({"hour": pa.array(np.arange(24), pa.int32()), "event_count": pa.array(counts, pa.int64())})


def _rate(part: int, whole: int) -> float:
    return float(part) / whole if whole else 0.0


def _percentile(values: np.ndarray, q: int) -> float | None:
    return float(np.percentile(values, q, method="lower")) if len(values) else None


def _counts_by(values: pa.Array, vocabulary: list[str]) -> dict[str, int]:
    found = {d["values"]: d["counts"] for d in pc.value_counts(values).to_pylist()}
    out = {v: int(found.get(v, 0)) for v in vocabulary}
    out["missing"] = int(found.get(None, 0))
    return out


def daily_metrics(day: date, stats: dict[str, dict], events_clean: pa.Table, orders_clean: pa.Table) -> pa.Table:
    """The one-row metrics table of a day."""
    row: dict[str, object] = {"rule_set_version": RULE_SET_VERSION}
    for name, entity in ENTITIES.items():
        s = stats[name]
        total = s["total"]
        by_reason = s["by_reason"]
        row |= {
            f"{name}_feed_present": bool(s["feed_present"]),
            f"{name}_total": total,
            f"{name}_clean": s["clean"],
            f"{name}_quarantine": s["quarantine"],
            f"{name}_dropped_duplicates": s["dropped_duplicates"],
            f"{name}_malformed": s["malformed"],
            f"{name}_quarantine_rate": _rate(s["quarantine"], total),
            f"{name}_full_row_duplicate_rate": _rate(s["duplicates"]["full_row"], total),
            f"{name}_id_duplicate_rate": _rate(s["duplicates"]["id"], total),
            f"{name}_invalid_timestamp_rate": _rate(by_reason.get(f"invalid_{entity.time_column}", 0), total),
        }
        parsed = total - s["malformed"] - s["dropped_duplicates"]  # the rows the null counts cover
        for column, count in s["null_counts"].items():
            row[f"{name}_null_rate_{column}"] = _rate(count, parsed)
    for name in ("events", "orders"):
        row[f"{name}_orphan_rate"] = _rate(stats[name]["by_reason"].get("orphan_customer_id", 0), stats[name]["total"])

    events = events_clean
    for key, value in _counts_by(events.column("event_type").combine_chunks(), vocab.canonical_values(vocab.EVENT_TYPE)).items():
        row[f"events_type_{key}"] = value
    for key, value in _counts_by(events.column("platform").combine_chunks(), vocab.canonical_values(vocab.PLATFORM)).items():
        row[f"events_platform_{key}"] = value
    for key, value in _counts_by(orders_clean.column("status").combine_chunks(), vocab.canonical_values(vocab.ORDER_STATUS)).items():
        if key != "missing":
            row[f"orders_status_{key}"] = value

    row["customers_with_clean_event"] = pc.count_distinct(events.column("customer_id")).as_py()
    row["customers_with_clean_order"] = pc.count_distinct(orders_clean.column("customer_id")).as_py()
    hours = hours_of_day(events.column("event_time_utc").combine_chunks(), day)
    row["events_outside_day"] = int((hours < 0).sum())

    durations = events.column("duration_ms").drop_null().to_numpy()
    for q in PERCENTILES:
        row[f"duration_ms_p{q}"] = _percentile(durations, q)

    currency = orders_clean.column("currency").combine_chunks()
    amounts = pc.cast(orders_clean.column("amount"), pa.float64()).combine_chunks().to_numpy(zero_copy_only=False)
    cents = np.rint(amounts * 100).astype(np.int64)
    for code in vocab.canonical_values(vocab.CURRENCY):
        values = cents[pc.equal(currency, code).to_numpy(zero_copy_only=False)]
        for q in PERCENTILES:
            p = _percentile(values, q)
            row[f"amount_p{q}_{code}"] = None if p is None else p / 100
    table = pa.Table.from_pylist([row])
    return table.cast(_metrics_schema(table.schema))


def _metrics_schema(schema: pa.Schema) -> pa.Schema:
    """Fix the types of columns that can be all-null on a quiet day."""
    fields = []
    for f in schema:
        if f.name.startswith(("amount_p", "duration_ms_p")):
            fields.append(pa.field(f.name, pa.float64()))
        else:
            fields.append(f)
    return pa.schema(fields)


