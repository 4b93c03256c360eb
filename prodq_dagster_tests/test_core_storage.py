"""storage: the ``Store`` of a local root: exact partition paths, atomic publication through
``.staging/``, stale and abandoned files, hive-style reads, JSON documents, listings."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prodq_dagster.core import storage
from prodq_dagster.core.storage import STAGING, StorageError, open_store, partition_dir, partition_file
from prodq_dagster.resources import DATASETS, MissingPartitionError, ProdqStorage
from prodq_dagster.settings import ProdqSettings
from prodq_dagster_tests.test_core_support import EVENTS, good_event, run_rows

DAY = "2025-12-10"
CLEAN_EVENTS = partition_file(DATASETS["clean_events"], DAY)


def _events(n: int, prefix: str = "E") -> pa.Table:
    return pa.table({"event_id": [f"{prefix}{i}" for i in range(n)], "value": list(range(n))})


def _ids(table: pa.Table | None) -> list[str] | None:
    return None if table is None else table.column("event_id").to_pylist()


def _staged(root) -> list[str]:
    folder = root / STAGING
    return sorted(os.listdir(folder)) if folder.is_dir() else []


# ---------------------------------------------------------------------------- paths


def test_write_table_exact_path(tmp_path):
    store = open_store(str(tmp_path))
    assert CLEAN_EVENTS == "clean/events/ingest_date=2025-12-10/part-0.parquet"
    location = store.write_table(_events(3), CLEAN_EVENTS)
    expected = tmp_path / "clean" / "events" / "ingest_date=2025-12-10" / "part-0.parquet"
    assert location == str(expected) == store.path(CLEAN_EVENTS)
    assert expected.is_file()
    assert sorted(os.listdir(expected.parent)) == ["part-0.parquet"]
    assert pq.read_table(expected).column("event_id").to_pylist() == ["E0", "E1", "E2"]
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["E0", "E1", "E2"]
    # One store per root: a relative or file:// spelling of the same folder is the same store.
    assert open_store(f"file://{tmp_path}") is store


def test_dataset_dirs_for_quarantine_metrics_and_load_stats(tmp_path):
    day = date(2025, 12, 10)
    assert partition_dir("clean/events", day) == "clean/events/ingest_date=2025-12-10"
    prodq = ProdqStorage(settings=ProdqSettings(out_dir=str(tmp_path)))
    expected = {
        "quarantine_orders": "quarantine/orders/ingest_date=2025-12-10/part-0.parquet",
        "daily_metrics": "metrics/daily_metrics/ingest_date=2025-12-10/part-0.parquet",
        "hourly_events": "metrics/hourly_events/ingest_date=2025-12-10/part-0.parquet",
        "customer_master": "master/customers/ingest_date=2025-12-10/part-0.parquet",
        "load_stats_events": "metrics/load_stats/events/ingest_date=2025-12-10/stats.json",
    }
    for asset, rel in expected.items():
        assert prodq.location(asset, day) == str(tmp_path / rel), asset


# ---------------------------------------------------------------------------- atomic publication


def test_rewrite_replaces_content_and_removes_stale_files(tmp_path):
    store = open_store(str(tmp_path))
    store.write_table(_events(5), CLEAN_EVENTS)
    folder = tmp_path / partition_dir("clean/events", DAY)
    # stale leftovers from an older layout / another writer, and a hidden file of a live writer
    pq.write_table(_events(2, "OLD"), folder / "part-1.parquet")
    (folder / "notes.txt").write_text("stale")
    (folder / ".inflight").write_text("someone else's temp file")
    store.write_table(_events(2, "N"), CLEAN_EVENTS)
    assert sorted(os.listdir(folder)) == [".inflight", "part-0.parquet"]
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["N0", "N1"]
    # reading the folder as a dataset shows only the new rows (no duplicates, no stale rows)
    frame = pd.read_parquet(tmp_path / "clean" / "events")
    assert sorted(frame["event_id"]) == ["N0", "N1"]


def test_remove_stale_keeps_the_file_and_hidden_files(tmp_path):
    store = open_store(str(tmp_path))
    folder = tmp_path / "a"
    folder.mkdir()
    for name in ("keep.json", "old.json", "part-3.parquet", ".hidden"):
        (folder / name).write_text("x")
    (folder / "sub").mkdir()
    store.remove_stale("a/keep.json")
    assert sorted(os.listdir(folder)) == [".hidden", "keep.json", "sub"]


def test_no_temp_files_left_after_writes(tmp_path):
    store = open_store(str(tmp_path))
    for _ in range(3):
        store.write_table(_events(4), CLEAN_EVENTS)
        store.write_json("reports/x.json", {"a": 1})
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == [CLEAN_EVENTS, "reports/x.json"]
    assert _staged(tmp_path) == []


def test_readers_see_old_file_while_new_one_is_written(tmp_path, monkeypatch):
    store = open_store(str(tmp_path))
    store.write_table(_events(3, "OLD"), CLEAN_EVENTS)
    folder = tmp_path / partition_dir("clean/events", DAY)
    monkeypatch.setenv("PRODQ_TEST_SLOW_WRITE_SECONDS", "0.6")
    writer = threading.Thread(target=store.write_table, args=(_events(2, "NEW"), CLEAN_EVENTS))
    writer.start()
    try:
        deadline = time.monotonic() + 5
        temps = []
        while time.monotonic() < deadline and not temps:
            temps = _staged(tmp_path)
            time.sleep(0.01)
        assert temps, "the new file is first written under the hidden .staging/ folder"
        # mid-write: the visible partition is still the complete old file, and nothing else is visible
        assert sorted(os.listdir(folder)) == ["part-0.parquet"]
        assert _ids(store.read_table(CLEAN_EVENTS)) == ["OLD0", "OLD1", "OLD2"]
        assert sorted(pd.read_parquet(tmp_path / "clean" / "events")["event_id"]) == ["OLD0", "OLD1", "OLD2"]
    finally:
        writer.join()
    assert sorted(os.listdir(folder)) == ["part-0.parquet"]
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["NEW0", "NEW1"]
    assert _staged(tmp_path) == []


def test_a_staged_file_is_invisible_until_published(tmp_path):
    store = open_store(str(tmp_path))
    store.write_table(_events(3, "OLD"), CLEAN_EVENTS)
    staged = store.stage(_events(1).schema)
    staged.write(_events(2, "NEW"))
    staged.write(_events(1, "MORE"))
    assert staged.temp.startswith(f"{STAGING}/") and staged.rows == 3
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["OLD0", "OLD1", "OLD2"]
    assert store.publish(staged, CLEAN_EVENTS) == store.path(CLEAN_EVENTS)
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["NEW0", "NEW1", "MORE0"]
    assert _staged(tmp_path) == []


def test_an_aborted_staged_file_leaves_the_old_version(tmp_path):
    store = open_store(str(tmp_path))
    store.write_table(_events(3, "OLD"), CLEAN_EVENTS)
    staged = store.stage(_events(1).schema)
    staged.write(_events(2, "NEW"))
    staged.abort()
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["OLD0", "OLD1", "OLD2"]
    assert _staged(tmp_path) == []


def test_a_failed_write_leaves_the_old_version(tmp_path, monkeypatch):
    store = open_store(str(tmp_path))
    store.write_table(_events(3, "OLD"), CLEAN_EVENTS)
    store.write_json("reports/a.json", {"version": 1})

    # The table itself cannot be written.
    def broken_write(self, table):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(storage.StagedFile, "write", broken_write)
        with pytest.raises(OSError, match="disk full"):
            store.write_table(_events(2, "NEW"), CLEAN_EVENTS)
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["OLD0", "OLD1", "OLD2"]
    assert _staged(tmp_path) == []

    # The move into place fails: the staged file is deleted, the old version stays.
    def broken_publish(self, temp, rel):
        raise OSError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(storage.Store, "_publish", broken_publish)
        with pytest.raises(OSError, match="connection lost"):
            store.write_table(_events(2, "NEW"), CLEAN_EVENTS)
        with pytest.raises(OSError, match="connection lost"):
            store.write_json("reports/a.json", {"version": 2})
    assert _ids(store.read_table(CLEAN_EVENTS)) == ["OLD0", "OLD1", "OLD2"]
    assert store.read_json("reports/a.json") == {"version": 1}
    assert _staged(tmp_path) == []
    assert sorted(os.listdir(tmp_path / partition_dir("clean/events", DAY))) == ["part-0.parquet"]


# ---------------------------------------------------------------------------- reading


def test_hidden_files_are_not_part_of_a_dataset(tmp_path):
    store = open_store(str(tmp_path))
    store.write_table(_events(2, "V"), CLEAN_EVENTS)
    folder = tmp_path / partition_dir("clean/events", DAY)
    # A writer's temp file in the partition folder, and staged files under the root.
    pq.write_table(_events(3, "HIDDEN"), folder / ".part-0.parquet.tmp")
    staged = store.stage(_events(1).schema)
    staged.write(_events(4, "STAGED"))
    staged.finish()
    # The whole root read as one dataset: .staging/ holds a complete Parquet file of the same schema.
    for read in (pd.read_parquet(tmp_path / "clean" / "events"), pq.read_table(tmp_path).to_pandas()):
        assert sorted(read["event_id"]) == ["V0", "V1"]
    staged.abort()


def test_read_table_absent_partition_is_none(tmp_path):
    store = open_store(str(tmp_path))
    assert store.read_table(CLEAN_EVENTS) is None
    assert store.written_days("clean/events") == []
    prodq = ProdqStorage(settings=ProdqSettings(out_dir=str(tmp_path)))
    with pytest.raises(MissingPartitionError, match="clean_events has no materialized partition for 2025-12-10"):
        prodq.read("clean_events", DAY)
    with pytest.raises(MissingPartitionError, match="load_stats_events"):
        prodq.read_stats("events", DAY)


def test_read_of_a_damaged_partition_raises_storage_error(tmp_path):
    store = open_store(str(tmp_path))
    store.write_table(_events(2), CLEAN_EVENTS)
    path = tmp_path / CLEAN_EVENTS
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # truncated
    with pytest.raises(StorageError, match="damaged"):
        store.read_table(CLEAN_EVENTS)
    path.write_bytes(b"not parquet at all")
    with pytest.raises(StorageError, match=str(path)):
        store.read_table(CLEAN_EVENTS)


def test_written_days_and_read_days(tmp_path):
    store = open_store(str(tmp_path))
    for day in ("2025-12-11", "2025-12-09"):
        store.write_table(_events(1), partition_file("clean/events", day))
    # Not days: a folder without a partition file, a folder not named ingest_date=<date>, a file.
    (tmp_path / "clean" / "events" / "ingest_date=2025-12-10").mkdir()
    (tmp_path / "clean" / "events" / "ingest_date=garbage").mkdir()
    (tmp_path / "clean" / "events" / "ingest_date=2025-12-12").write_text("a file")
    days = store.written_days("clean/events")
    assert days == [date(2025, 12, 9), date(2025, 12, 11)]
    prodq = ProdqStorage(settings=ProdqSettings(out_dir=str(tmp_path)))
    assert prodq.written_days("clean_events") == days
    got = prodq.read_days("clean_events", [date(2025, 12, 9), date(2025, 12, 10), date(2025, 12, 11)])
    assert sorted(got) == days


def test_pandas_reads_two_days_with_ingest_date_from_folder(tmp_path):
    raw = tmp_path / "raw"
    out = open_store(str(tmp_path / "out"))
    for day, ids in (("2025-12-10", ["E1", "E2"]), ("2025-12-11", ["E3"])):
        rows = [good_event(e, event_time=f"{day} 10:00:00", ingest_date=day) for e in ids]
        result = run_rows(raw, EVENTS, rows, day=day)
        assert "ingest_date" not in result.clean.column_names
        out.write_table(result.clean, partition_file("clean/events", day))
    frame = pd.read_parquet(tmp_path / "out" / "clean" / "events")
    assert "ingest_date" in frame.columns
    got = sorted(zip(frame["event_id"], frame["ingest_date"].astype(str)))
    assert got == [("E1", "2025-12-10"), ("E2", "2025-12-10"), ("E3", "2025-12-11")]
    assert str(frame["event_time_utc"].dt.tz) == "UTC"


# ---------------------------------------------------------------------------- JSON


def test_write_json_atomic(tmp_path):
    store = open_store(str(tmp_path))
    rel = "reports/ingest_date=2025-12-10/alerts.json"
    assert store.write_json(rel, {"a": 1, "email": "x"}) == str(tmp_path / rel)
    store.write_json(rel, {"a": 2, "when": date(2025, 12, 10)})
    path = tmp_path / rel
    assert json.loads(path.read_text()) == {"a": 2, "when": "2025-12-10"}
    assert store.read_json(rel) == {"a": 2, "when": "2025-12-10"}
    assert [p.name for p in path.parent.iterdir()] == ["alerts.json"]
    assert _staged(tmp_path) == []


def test_read_json_missing_is_none_and_invalid_is_a_storage_error(tmp_path):
    store = open_store(str(tmp_path))
    assert store.read_json("reports/nothing.json") is None
    (tmp_path / "bad.json").write_text('{"a": 1,')
    with pytest.raises(StorageError, match="not valid JSON"):
        store.read_json("bad.json")


# ---------------------------------------------------------------------------- abandoned temp files


def test_abandoned_staged_files_are_removed_and_young_ones_kept(tmp_path):
    store = open_store(str(tmp_path))
    staging = tmp_path / STAGING
    staging.mkdir()
    now = time.time()
    ages = {"dead.parquet": storage.ABANDONED_AFTER_SECONDS + 60, "live.parquet": storage.ABANDONED_AFTER_SECONDS - 60, "new": 0}
    for name, age in ages.items():
        (staging / name).write_bytes(b"x")
        os.utime(staging / name, (now - age, now - age))
    store._remove_abandoned(STAGING)
    assert sorted(os.listdir(staging)) == ["live.parquet", "new"]

    # Every new staged file cleans up after writers that died.
    os.utime(staging / "live.parquet", (now - 2 * storage.ABANDONED_AFTER_SECONDS,) * 2)
    staged = store.stage(_events(1).schema)
    assert sorted(os.listdir(staging)) == sorted(["new", staged.temp.rpartition("/")[2]])
    staged.abort()
    assert sorted(os.listdir(staging)) == ["new"]


def test_remove_abandoned_of_a_missing_folder_is_a_no_op(tmp_path):
    open_store(str(tmp_path))._remove_abandoned(STAGING)
    assert not (tmp_path / STAGING).exists()


# ---------------------------------------------------------------------------- listing


def test_listdir_shows_dangling_links_files_and_folders(tmp_path):
    store = open_store(str(tmp_path))
    folder = tmp_path / "day"
    folder.mkdir()
    (folder / "b.csv").write_bytes(b"12345")
    (folder / "sub").mkdir()
    os.symlink(tmp_path / "nowhere.csv", folder / "a.csv")
    entries = store.listdir("day")
    assert [e.name for e in entries] == ["a.csv", "b.csv", "sub"]
    dangling, plain, sub = entries
    assert (dangling.is_dir, dangling.size) == (False, -1)
    assert (plain.is_dir, plain.size) == (False, 5) and plain.mtime > 0
    assert sub.is_dir
    assert store.listdir("no_such_folder") == []
    assert store.listdir("day/b.csv") == []


# ---------------------------------------------------------------------------- writer options


def test_statistics_only_for_non_text_columns(tmp_path):
    """Text min/max statistics are skipped (a quarter of the write time); numbers keep theirs."""
    store = open_store(str(tmp_path))
    path = store.write_table(_events(5), CLEAN_EVENTS)
    row_group = pq.ParquetFile(path).metadata.row_group(0)
    stats = {row_group.column(i).path_in_schema: row_group.column(i).statistics for i in range(row_group.num_columns)}
    assert stats["event_id"] is None
    assert (stats["value"].min, stats["value"].max) == (0, 4)
    staged = store.stage(_events(1).schema)
    staged.write(_events(3))
    target = store.publish(staged, partition_file("clean/orders", DAY))
    row_group = pq.ParquetFile(target).metadata.row_group(0)
    assert row_group.column(0).statistics is None and row_group.column(1).statistics.max == 2
