"""Daily quality/volume metrics (one wide row per day) and hourly clean event counts.

Business figures use clean rows only; the rates that describe raw quality
(invalid timestamps, orphans, duplicates, null rates) use the day's raw rows.
Columns are fixed by the vocabularies, so every day has the same schema.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .contract import ENTITIES, RULE_SET_VERSION
from .stats import EntityStats
from .vocab import Vocabularies

PERCENTILES = (50, 95)
EVENT_COLUMNS = ["customer_id", "event_time_utc", "event_type", "platform", "duration_ms"]
EVENT_TEXT_COLUMNS = ["customer_id", "event_type", "platform"]  # read dictionary-encoded
ORDER_COLUMNS = ["customer_id", "amount", "currency", "status"]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def hours_of_day(event_times: pa.Array, day: date) -> np.ndarray:
    """UTC hour (0-23) of each event inside the ingest day; -1 for events outside it (or null)."""
    start, _ = day_bounds(day)
    micros = pc.fill_null(pc.cast(event_times, pa.int64()), np.iinfo(np.int64).min).to_numpy(zero_copy_only=False)
    offset = micros - int(start.timestamp() * 1_000_000)
    hours = offset // 3_600_000_000
    return np.where((offset >= 0) & (hours < 24), hours, -1)


def _value_counts(values: pa.Array | pa.ChunkedArray) -> dict:
    """Count of each value (None counts the nulls when there are any)."""
    if pa.types.is_dictionary(values.type) and isinstance(values, pa.Array):
        # A bincount of the indices: hashing them (``value_counts``) cost four times as much.
        size = len(values.dictionary)
        counts = np.bincount(pc.fill_null(values.indices, size).to_numpy(zero_copy_only=False), minlength=size + 1)
        found = Counter()
        for value, count in zip(values.dictionary.to_pylist() + [None], counts.tolist()):
            if count:
                found[value] += count
        return dict(found)
    return {d["values"]: d["counts"] for d in pc.value_counts(values).to_pylist()}


class _DistinctValues:
    """The distinct non-null values of a text column, seen batch by batch.

    A dictionary-encoded batch is reduced to the dictionary entries its indices use;
    the batches of one Parquet row group share one dictionary, so each dictionary is
    hashed once rather than once per batch.
    """

    def __init__(self) -> None:
        self._parts: list[pa.Array] = []
        self._dictionary: pa.Array | None = None
        self._used: np.ndarray | None = None

    def add(self, values: pa.Array) -> None:
        if not pa.types.is_dictionary(values.type):
            self._parts.append(pc.unique(values.drop_null()))
            return
        if self._dictionary is None or not values.dictionary.equals(self._dictionary):
            self._flush()
            self._dictionary = values.dictionary
            self._used = np.zeros(len(values.dictionary), dtype=bool)
        self._used[values.indices.drop_null().to_numpy(zero_copy_only=False)] = True

    def _flush(self) -> None:
        if self._dictionary is not None:
            self._parts.append(self._dictionary.filter(pa.array(self._used)))

    def count(self) -> int:
        self._flush()
        self._dictionary = None
        return pc.count_distinct(pa.chunked_array(self._parts, pa.string())).as_py() if self._parts else 0


@dataclass(frozen=True)
class EventSummary:
    """What the metrics need from a day's clean events, gathered batch by batch.

    Batches keep the arrays small (they stay in the CPU cache), and text columns may be dictionary-encoded
    as Parquet stores them, so counting and distinct ids never touch a string per row.
    """

    by_type: dict
    by_platform: dict
    distinct_customers: int
    hour_counts: np.ndarray  # clean events per UTC hour of the ingest day
    outside_day: int
    durations: np.ndarray  # non-null duration_ms


def summarize_events(day: date, events_clean: pa.Table) -> EventSummary:
    """One pass over the clean events of ``day`` (plain or dictionary-encoded text columns)."""
    by_type: Counter = Counter()
    by_platform: Counter = Counter()
    customers = _DistinctValues()
    durations = []
    hour_counts = np.zeros(24, dtype=np.int64)
    for batch in events_clean.select(EVENT_COLUMNS).to_batches():
        for counter, name in ((by_type, "event_type"), (by_platform, "platform")):
            counter.update(_value_counts(batch.column(name)))
        customers.add(batch.column("customer_id"))
        hours = hours_of_day(batch.column("event_time_utc"), day)
        hour_counts += np.bincount(hours[hours >= 0], minlength=24)[:24]
        durations.append(batch.column("duration_ms").drop_null().to_numpy())
    outside_day = events_clean.num_rows - int(hour_counts.sum())
    all_durations = np.concatenate(durations) if durations else np.array([], np.int64)
    return EventSummary(dict(by_type), dict(by_platform), customers.count(), hour_counts, outside_day, all_durations)


def hourly_events(summary: EventSummary) -> pa.Table:
    """24 rows: UTC hour of the ingest day and its clean event count."""
    return pa.table({"hour": pa.array(np.arange(24), pa.int32()), "event_count": pa.array(summary.hour_counts, pa.int64())})


def _rate(part: int, whole: int) -> float:
    return float(part) / whole if whole else 0.0


def _percentiles(values: np.ndarray) -> list[float | None]:
    if not len(values):
        return [None] * len(PERCENTILES)
    return [float(p) for p in np.percentile(values, PERCENTILES, method="lower")]  # one partition for all


def _counts_by(found: dict, vocabulary: list[str]) -> dict[str, int]:
    out = {v: int(found.get(v, 0)) for v in vocabulary}
    out["missing"] = int(found.get(None, 0))
    return out


def daily_metrics(
    day: date, stats: dict[str, EntityStats], events: EventSummary, orders_clean: pa.Table, vocab: Vocabularies
) -> pa.Table:
    """The one-row metrics table of a day."""
    row: dict[str, object] = {"rule_set_version": RULE_SET_VERSION}
    for name, entity in ENTITIES.items():
        s = stats[name]
        by_reason = s.by_reason
        row |= {
            f"{name}_feed_present": s.feed_present,
            f"{name}_total": s.total,
            f"{name}_clean": s.clean,
            f"{name}_quarantine": s.quarantine,
            f"{name}_dropped_duplicates": s.dropped_duplicates,
            f"{name}_malformed": s.malformed,
            f"{name}_quarantine_rate": s.quarantine_rate,
            f"{name}_full_row_duplicate_rate": _rate(s.dropped_duplicates, s.total),
            f"{name}_id_duplicate_rate": _rate(s.id_duplicates, s.total),
            f"{name}_invalid_timestamp_rate": _rate(by_reason.get(f"invalid_{entity.time_column}", 0), s.total),
        }
        parsed = s.total - s.malformed - s.dropped_duplicates  # the rows the null counts cover
        for column, count in s.null_counts.items():
            row[f"{name}_null_rate_{column}"] = _rate(count, parsed)
    for name in ("events", "orders"):
        row[f"{name}_orphan_rate"] = _rate(stats[name].by_reason.get("orphan_customer_id", 0), stats[name].total)

    for key, value in _counts_by(events.by_type, vocab.event_type.canonical).items():
        row[f"events_type_{key}"] = value
    for key, value in _counts_by(events.by_platform, vocab.platform.canonical).items():
        row[f"events_platform_{key}"] = value
    for key, value in _counts_by(_value_counts(orders_clean.column("status")), vocab.order_status.canonical).items():
        if key != "missing":
            row[f"orders_status_{key}"] = value

    row["customers_with_clean_event"] = events.distinct_customers
    row["customers_with_clean_order"] = pc.count_distinct(orders_clean.column("customer_id")).as_py()
    row["events_outside_day"] = events.outside_day
    for q, p in zip(PERCENTILES, _percentiles(events.durations)):
        row[f"duration_ms_p{q}"] = p

    currency = orders_clean.column("currency").combine_chunks()
    amounts = pc.cast(orders_clean.column("amount"), pa.float64()).combine_chunks().to_numpy(zero_copy_only=False)
    cents = np.rint(amounts * 100).astype(np.int64)
    for code in vocab.currency.canonical:
        values = cents[pc.equal(currency, code).to_numpy(zero_copy_only=False)]
        for q, p in zip(PERCENTILES, _percentiles(values)):
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


