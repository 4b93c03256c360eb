"""storage: exact partition paths, atomic replacement, stale files, hive-style reads."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from prodq_dagster.core import storage
from prodq_dagster_tests.test_core_support import EVENTS, good_event, run_rows


def _events(n: int, prefix: str = "E") -> pa.Table:
    return pa.table({"event_id": [f"{prefix}{i}" for i in range(n)], "value": list(range(n))})


def test_write_table_exact_path(tmp_path):
    path = storage.write_table(_events(3), tmp_path, "clean_events", date(2025, 12, 10))
    expected = tmp_path / "clean" / "events" / "ingest_date=2025-12-10" / "part-0.parquet"
    assert path == expected
    assert expected.is_file()
    assert storage.partition_file(tmp_path, "clean_events", "2025-12-10") == expected
    assert sorted(os.listdir(expected.parent)) == ["part-0.parquet"]
    assert pq.read_table(expected).column("event_id").to_pylist() == ["E0", "E1", "E2"]


def test_dataset_dirs_for_quarantine_and_metrics(tmp_path):
    day = date(2025, 12, 10)
    assert storage.partition_file(tmp_path, "quarantine_orders", day) == tmp_path / "quarantine/orders/ingest_date=2025-12-10/part-0.parquet"
    assert storage.partition_file(tmp_path, "daily_metrics", day) == tmp_path / "metrics/daily_metrics/ingest_date=2025-12-10/part-0.parquet"
    assert storage.partition_file(tmp_path, "hourly_events", day) == tmp_path / "metrics/hourly_events/ingest_date=2025-12-10/part-0.parquet"


def test_rewrite_replaces_content_and_removes_stale_files(tmp_path):
    day = "2025-12-10"
    storage.write_table(_events(5), tmp_path, "clean_events", day)
    folder = storage.partition_dir(tmp_path, "clean_events", day)
    # stale leftovers from an older layout / another writer
    pq.write_table(_events(2, "OLD"), folder / "part-1.parquet")
    (folder / "notes.txt").write_text("stale")
    storage.write_table(_events(2, "N"), tmp_path, "clean_events", day)
    assert sorted(os.listdir(folder)) == ["part-0.parquet"]
    table = storage.read_table(tmp_path, "clean_events", day)
    assert table.column("event_id").to_pylist() == ["N0", "N1"]
    # reading the folder as a dataset shows only the new rows (no duplicates, no stale rows)
    frame = pd.read_parquet(tmp_path / "clean" / "events")
    assert sorted(frame["event_id"]) == ["N0", "N1"]


def test_no_hidden_temp_files_left(tmp_path):
    for _ in range(3):
        storage.write_table(_events(4), tmp_path, "clean_events", "2025-12-10")
    hidden = [p for p in tmp_path.rglob(".*")]
    assert hidden == []


def test_read_table_absent_partition_is_none(tmp_path):
    assert storage.read_table(tmp_path, "clean_events", "2025-12-10") is None
    assert storage.written_days(tmp_path, "clean_events") == []


def test_written_days_and_read_tables(tmp_path):
    for day in ("2025-12-11", "2025-12-09"):
        storage.write_table(_events(1), tmp_path, "clean_events", day)
    days = storage.written_days(tmp_path, "clean_events")
    assert days == [date(2025, 12, 9), date(2025, 12, 11)]
    got = storage.read_tables(tmp_path, "clean_events", [date(2025, 12, 9), date(2025, 12, 10), date(2025, 12, 11)])
    assert sorted(got) == days


def test_pandas_reads_two_days_with_ingest_date_from_folder(tmp_path):
    raw = tmp_path / "raw"
    out = tmp_path / "out"
    for day, ids in (("2025-12-10", ["E1", "E2"]), ("2025-12-11", ["E3"])):
        rows = [good_event(e, event_time=f"{day} 10:00:00", ingest_date=day) for e in ids]
        result = run_rows(raw, EVENTS, rows, day=day)
        assert "ingest_date" not in result.clean.column_names
        storage.write_table(result.clean, out, "clean_events", day)
    frame = pd.read_parquet(out / "clean" / "events")
    assert "ingest_date" in frame.columns
    got = sorted(zip(frame["event_id"], frame["ingest_date"].astype(str)))
    assert got == [("E1", "2025-12-10"), ("E2", "2025-12-10"), ("E3", "2025-12-11")]
    assert str(frame["event_time_utc"].dt.tz) == "UTC"


def test_write_json_atomic(tmp_path):
    path = tmp_path / "reports" / "ingest_date=2025-12-10" / "alerts.json"
    storage.write_json({"a": 1, "email": "x"}, path)
    storage.write_json({"a": 2}, path)
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["alerts.json"]


def test_readers_see_old_file_while_new_one_is_written(tmp_path, monkeypatch):
    day = "2025-12-10"
    storage.write_table(_events(3, "OLD"), tmp_path, "clean_events", day)
    folder = storage.partition_dir(tmp_path, "clean_events", day)
    monkeypatch.setenv("PRODQ_TEST_SLOW_WRITE_SECONDS", "0.6")
    writer = threading.Thread(target=storage.write_table, args=(_events(2, "NEW"), tmp_path, "clean_events", day))
    writer.start()
    try:
        deadline = time.monotonic() + 5
        temps = []
        while time.monotonic() < deadline and not temps:
            temps = [p.name for p in folder.iterdir() if p.name.startswith(".part-0.parquet.")]
            time.sleep(0.01)
        assert temps, "the new file is first written under a hidden temporary name"
        # mid-write: the visible partition is still the complete old file
        assert storage.read_table(tmp_path, "clean_events", day).column("event_id").to_pylist() == ["OLD0", "OLD1", "OLD2"]
    finally:
        writer.join()
    assert sorted(os.listdir(folder)) == ["part-0.parquet"]
    assert storage.read_table(tmp_path, "clean_events", day).column("event_id").to_pylist() == ["NEW0", "NEW1"]


def test_statistics_only_for_non_text_columns(tmp_path):
    """Text min/max statistics are skipped (a quarter of the write time); numbers keep theirs."""
    path = storage.write_table(_events(5), tmp_path, "clean_events", date(2025, 12, 10))
    row_group = pq.ParquetFile(path).metadata.row_group(0)
    stats = {row_group.column(i).path_in_schema: row_group.column(i).statistics for i in range(row_group.num_columns)}
    assert stats["event_id"] is None
    assert (stats["value"].min, stats["value"].max) == (0, 4)
    with storage.PartitionWriter(tmp_path, "clean_orders", "2025-12-10", _events(1).schema) as writer:
        writer.write(_events(3))
        target = writer.commit()
    row_group = pq.ParquetFile(target).metadata.row_group(0)
    assert row_group.column(0).statistics is None and row_group.column(1).statistics.max == 2
