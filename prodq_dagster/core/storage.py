"""Partitioned Parquet and JSON storage with atomic replacement.

A partition is one file, ``<root>/<dataset>/ingest_date=D/part-0.parquet``. It is
written under a hidden temporary name in the same folder and moved into place
with ``os.replace``, so readers see either the old file or the new one, never a
half-written one; other files left in the partition folder are removed after.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .stats import EntityStats

PART_FILE = "part-0.parquet"


class StorageError(Exception):
    """An output that exists but cannot be read back (a damaged or foreign file)."""

# Where each named dataset lives under the output root.
DATASET_DIRS = {
    "clean_customers": "clean/customers",
    "clean_events": "clean/events",
    "clean_orders": "clean/orders",
    "quarantine_customers": "quarantine/customers",
    "quarantine_events": "quarantine/events",
    "quarantine_orders": "quarantine/orders",
    "customer_master": "master/customers",
    "daily_metrics": "metrics/daily_metrics",
    "hourly_events": "metrics/hourly_events",
}


def partition_dir(root: str | Path, dataset: str, day: date | str) -> Path:
    day_text = day if isinstance(day, str) else day.isoformat()
    return Path(root) / DATASET_DIRS.get(dataset, dataset) / f"ingest_date={day_text}"


def partition_file(root: str | Path, dataset: str, day: date | str) -> Path:
    return partition_dir(root, dataset, day) / PART_FILE


def _before_replace_hook() -> None:
    """Test hook: PRODQ_TEST_SLOW_WRITE_SECONDS makes a write pause before its rename."""
    delay = os.environ.get("PRODQ_TEST_SLOW_WRITE_SECONDS")
    if delay:
        time.sleep(float(delay))


def _atomic_replace(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex}"
    try:
        write(temp)
        _before_replace_hook()
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()


# A hidden temp file this old belongs to a writer that died (killed mid-write).
ABANDONED_AFTER_SECONDS = 3600


def _remove_stale(target: Path) -> None:
    """Remove other files of the partition, and temp files abandoned by killed writers.

    A concurrent writer of the same root may remove a file between the listing and the
    look at it: a file that is already gone is fine.
    """
    now = time.time()
    for stale in target.parent.iterdir():
        if stale.name == target.name:
            continue
        try:
            if not stale.name.startswith("."):
                stale.unlink(missing_ok=True)
            elif stale.name.startswith(f".{target.name}.") and now - stale.stat().st_mtime > ABANDONED_AFTER_SECONDS:
                stale.unlink(missing_ok=True)
        except FileNotFoundError:
            continue


def parquet_options(schema: pa.Schema) -> dict:
    """Writer options of every partition file: zstd, column statistics for non-text columns only.

    Min/max statistics of text columns (ids, raw text) cost about a quarter of the write
    time and serve no reader here; timestamps and numbers keep theirs for row-group pruning.
    """
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary)
    stats = [f.name for f in schema if not any(is_text(f.type) for is_text in text)]
    return {"compression": "zstd", "write_statistics": stats}


def write_table(table: pa.Table, root: str | Path, dataset: str, day: date | str) -> Path:
    """Replace one partition atomically with ``table``; returns the file path."""
    target = partition_file(root, dataset, day)
    _atomic_replace(target, lambda temp: pq.write_table(table, temp, **parquet_options(table.schema)))
    _remove_stale(target)
    return target


class PartitionWriter:
    """Write one partition incrementally (row group by row group), then publish it atomically.

    Rows go to a hidden temp file beside the partition. ``finish`` completes that file and
    keeps it staged; ``commit`` moves it into place with ``os.replace``; ``abort`` (or an
    exception inside the ``with`` block) deletes it, leaving the previous version of the
    partition untouched.
    """

    def __init__(self, root: str | Path, dataset: str, day: date | str, schema: pa.Schema):
        self.target = partition_file(root, dataset, day)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.temp = self.target.parent / f".{self.target.name}.{uuid.uuid4().hex}"
        self.writer: pq.ParquetWriter | None = pq.ParquetWriter(self.temp, schema, **parquet_options(schema))
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table)
            self.rows += table.num_rows

    def finish(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def commit(self) -> Path:
        self.finish()
        _before_replace_hook()
        os.replace(self.temp, self.target)
        _remove_stale(self.target)
        return self.target

    def abort(self) -> None:
        self.finish()
        self.temp.unlink(missing_ok=True)

    def __enter__(self) -> "PartitionWriter":
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            self.abort()


def read_table(
    root: str | Path, dataset: str, day: date | str, columns: list[str] | None = None, dictionary_columns: list[str] | None = None
) -> pa.Table | None:
    """Read one partition, or None when it has not been written.

    ``dictionary_columns`` are read dictionary-encoded, as Parquet stores them: several
    times faster than materializing a string per row.
    """
    path = partition_file(root, dataset, day)
    if not path.exists():
        return None
    try:
        return pq.read_table(path, columns=columns, read_dictionary=dictionary_columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StorageError(f"cannot read the partition file {path} (damaged, or not written by prodq): {exc}") from None


def read_tables(root: str | Path, dataset: str, days: Iterable[date], columns: list[str] | None = None) -> dict[date, pa.Table]:
    """Read the partitions of the given days that exist."""
    out = {}
    for day in days:
        table = read_table(root, dataset, day, columns)
        if table is not None:
            out[day] = table
    return out


def written_days(root: str | Path, dataset: str) -> list[date]:
    """The days that have a partition file for a dataset, sorted."""
    base = Path(root) / DATASET_DIRS.get(dataset, dataset)
    if not base.is_dir():
        return []
    days = []
    for child in base.iterdir():
        if child.name.startswith("ingest_date=") and (child / PART_FILE).exists():
            try:
                days.append(date.fromisoformat(child.name.split("=", 1)[1]))
            except ValueError:
                continue
    return sorted(days)


STATS_FILE = "stats.json"


def _stats_path(root: str | Path, entity: str, day: date) -> Path:
    return Path(root) / "metrics" / "load_stats" / entity / f"ingest_date={day.isoformat()}" / STATS_FILE


def write_stats(stats: EntityStats, root: str | Path, day: date) -> Path:
    """Replace the load statistics of one entity-day (JSON beside the outputs)."""
    return write_json(stats.to_dict(), _stats_path(root, stats.entity, day))


def read_stats(root: str | Path, entity: str, day: date) -> EntityStats | None:
    path = _stats_path(root, entity, day)
    if not path.exists():
        return None
    return EntityStats.from_dict(json.loads(path.read_text(encoding="utf-8")))


def read_json(path: Path) -> dict | None:
    """A JSON document, or None when it has not been written."""
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(obj: dict, path: Path) -> Path:
    """Write a JSON document atomically (pretty-printed, stable key order as given)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    _atomic_replace(path, lambda temp: temp.write_text(text, encoding="utf-8"))
    return path
