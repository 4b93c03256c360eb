"""Hostile raw files, one family at a time, through the shipped streaming path (small blocks
and buckets) and, where the promise is about the command line, through the real CLI.

Every case checks the same three promises: the day is never stopped by the content of a
line, no record is lost (raw records = clean + quarantine + dropped duplicates), and a
quarantined line keeps its raw text.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prodq_dagster.core.contract import CUSTOMERS, EVENTS, ORDERS
from prodq_dagster.core.reader import RawInputError, normalize_header
from prodq_dagster_tests.test_core_support import D, conserved, run_dir, write_bytes

from .test_cli import run_cli

EVENT_HEADER = ",".join(EVENTS.columns)
ORDER_HEADER = ",".join(ORDERS.columns)


def ev(eid: str, session: str = "S1", customer: str = "C1") -> str:
    return f"{eid},{customer},2025-12-10 10:00:00,page_view,web,{session},100,{D}"


def events_file(root, lines: list[str], eol: str = "\n", name: str = "events_raw.csv") -> None:
    write_bytes(root, name, (eol.join([EVENT_HEADER, *lines]) + eol).encode("utf-8"))


def malformed(result) -> list[tuple[int, str]]:
    return sorted((r["source_line"], r["raw_text"]) for r in result.quarantine.to_pylist() if r["reject_reason"] == "malformed_row")


def clean_ids(result) -> list[str]:
    return result.clean.column(result.clean.column_names[0]).to_pylist()


def run(root, entity=EVENTS, **kwargs):
    result = run_dir(root, entity, **kwargs)
    assert result.contract.passed
    assert conserved(result.stats)
    return result


# ----------------------------------------------------------------------------- stray quotes


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_stray_quotes_in_unquoted_values_are_malformed_whatever_their_number(tmp_path, count):
    """A quote inside an unquoted value (an inch mark) is broken quoting: each such line is
    malformed on its own, however many there are, and the day goes on."""
    lines, bad = [], []
    for i in range(8):
        if i < count:
            lines.append(ev(f"E{i}", session=f'27" monitor {i}'))
            bad.append((i + 2, lines[-1]))
        else:
            lines.append(ev(f"E{i}"))
    lines.append('E9,C1,2025-12-10 10:00:00,page_view,web,"multi\nline",100,' + D)  # a valid multi-line value elsewhere
    events_file(tmp_path, lines)
    result = run(tmp_path)
    assert malformed(result) == bad
    assert clean_ids(result) == [f"E{i}" for i in range(count, 8)] + ["E9"]
    assert result.stats.total == 9


def test_quoted_value_with_comma_after_a_stray_quote_costs_one_line(tmp_path):
    broken = f'E2,C1,2025-12-10 10:00:00,page_view,web,S"x,y"z,100,{D}'
    events_file(tmp_path, [ev("E1"), broken, ev("E3")])
    result = run(tmp_path)
    assert malformed(result) == [(3, broken)]
    assert clean_ids(result) == ["E1", "E3"]


@pytest.mark.parametrize("value", ['"S2"x', '"S2" ', ' "S2"', 'S""2', '"S"2"'])
def test_text_around_a_quoted_value_is_broken_quoting(tmp_path, value):
    broken = f"E2,C1,2025-12-10 10:00:00,page_view,web,{value},100,{D}"
    events_file(tmp_path, [ev("E1"), broken, ev("E3")])
    result = run(tmp_path)
    assert malformed(result) == [(3, broken)]


def test_well_quoted_values_are_records(tmp_path):
    lines = [
        f'"E1","C1","2025-12-10 10:00:00","page_view","web","say ""hi"", twice","100","{D}"',
        f'E2,C1,2025-12-10 10:00:00,page_view,web,"",100,{D}',
        f'E3,C1,2025-12-10 10:00:00,page_view,web,"""",100,{D}',
        'E4,C1,2025-12-10 10:00:00,page_view,web,"a\r\nb\nc",100,' + D,
    ]
    events_file(tmp_path, lines)
    result = run(tmp_path)
    assert result.stats.malformed == 0
    sessions = dict(zip(clean_ids(result), result.clean.column("session_id").to_pylist()))
    assert sessions == {"E1": 'say "hi", twice', "E2": None, "E3": '"', "E4": "a\r\nb\nc"}


def test_unterminated_quote_at_the_end_costs_its_line(tmp_path):
    broken = f'E3,C1,2025-12-10 10:00:00,page_view,web,"S3,100,{D}'
    events_file(tmp_path, [ev("E1"), ev("E2"), broken])
    result = run(tmp_path)
    assert malformed(result) == [(4, broken)]
    assert clean_ids(result) == ["E1", "E2"]


# ----------------------------------------------------------------------------- headers


@pytest.mark.parametrize("lead", [b"\n", b"\r\n", b"   \n", b"\t\r\n\n", b"\xef\xbb\xbf\n \n"])
def test_blank_lines_before_the_header_are_skipped(tmp_path, lead):
    body = ("\n".join([EVENT_HEADER, ev("E1"), ev("E2")]) + "\n").encode()
    write_bytes(tmp_path, "events_raw.csv", lead + body)
    result = run(tmp_path)
    assert clean_ids(result) == ["E1", "E2"] and result.stats.total == 2
    assert result.stats.missing_columns == []


def test_bare_cr_line_ends(tmp_path):
    events_file(tmp_path, [ev("E1"), "E2,too,few", ev("E3")], eol="\r")
    result = run(tmp_path)
    assert clean_ids(result) == ["E1", "E3"]
    assert malformed(result) == [(3, "E2,too,few")]


@pytest.mark.parametrize(
    "raw,expected",
    [
        (["session_id", "session_id", "session_id__2"], ["session_id", "session_id__3", "session_id__2"]),
        (["unnamed_2", "", "x"], ["unnamed_2", "unnamed_2__2", "x"]),
        (["a", "A ", " a"], ["a", "a__2", "a__3"]),
        (["", ""], ["unnamed_1", "unnamed_2"]),
    ],
)
def test_header_names_are_made_unique(raw, expected):
    assert normalize_header(raw) == expected


def test_colliding_header_names_keep_every_value(tmp_path):
    header = "event_id,customer_id,event_time,event_type,platform,session_id,duration_ms,ingest_date,session_id,session_id__2,"
    write_bytes(tmp_path, "events_raw.csv", (header + "\n" + ev("E1") + ",dup,dup2,last\n").encode())
    result = run(tmp_path)
    assert clean_ids(result) == ["E1"]
    assert result.stats.extra_columns == ["session_id__2", "session_id__3", "unnamed_11"]


@pytest.mark.parametrize(
    "header,sep",
    [
        ("OrderID,CustomerID,OrderTime,Amount,Currency,Status,IngestDate", ","),
        (ORDER_HEADER.replace(",", ";"), ";"),
        (ORDER_HEADER.replace(",", "\t"), "\t"),
    ],
    ids=["renamed", "semicolon", "tab"],
)
def test_a_header_that_matches_nothing_keeps_every_record(tmp_path, header, sep):
    """Renamed key columns, another delimiter: every record is quarantined with every value
    kept, and distinct records are never dropped as duplicates of each other."""
    rows = [sep.join(["O1", "C1", "2025-12-10 10:00:00", "10", "USD", "paid", D]), sep.join(["O2", "C2", "2025-12-10 10:00:00", "12", "USD", "paid", D])]
    rows += [rows[0]]  # the same record twice: one is a full-row duplicate
    write_bytes(tmp_path, "orders_raw.csv", ("\n".join([header, *rows]) + "\n").encode())
    result = run(tmp_path, ORDERS)
    s = result.stats
    assert (s.total, s.clean, s.quarantine, s.dropped_duplicates) == (3, 0, 2, 1)
    assert list(s.unmatched_headers) == ([] if sep == "," else ["orders_raw.csv"])  # renamed: amount, currency, status match
    assert "order_id" in s.missing_columns
    kept = sorted(r["extra_columns"] for r in result.quarantine.to_pylist())
    assert len(set(kept)) == 2
    values = " ".join(kept)
    assert all(v in values for v in ("O1", "O2", "C1", "C2"))
    assert all(r["reject_reason"].startswith("missing_column:order_id") for r in result.quarantine.to_pylist())


def test_cp1252_header_is_repaired_and_reported(tmp_path):
    header = ORDER_HEADER.replace("currency", "currenc\xe9").encode("cp1252")
    write_bytes(tmp_path, "orders_raw.csv", header + b"\n" + f"O1,C1,2025-12-10 10:00:00,10,USD,paid,{D}\n".encode())
    result = run(tmp_path, ORDERS)
    assert result.stats.missing_columns == ["currency"] and result.stats.extra_columns == ["currencé"]
    assert result.stats.encoding_repaired_files == ["orders_raw.csv"]
    assert result.quarantine.column("reject_reason").to_pylist() == ["missing_column:currency|invalid_currency"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_file_fails_with_one_clear_message(tmp_path, encoding):
    text = "\n".join([EVENT_HEADER, ev("E1")]) + "\n"
    write_bytes(tmp_path, "events_raw.csv", text.encode(encoding))
    with pytest.raises(RawInputError, match="UTF-16 or UTF-32"):
        run_dir(tmp_path, EVENTS)


# ----------------------------------------------------------------------------- full-row duplicates


def test_full_row_duplicates_compare_extra_columns_too(tmp_path):
    header = EVENT_HEADER + ",note"
    lines = [ev("E1") + ",a", ev("E1") + ",b", ev("E1") + ", a ", ev("E2") + ",x", ev("E2") + ",x"]
    write_bytes(tmp_path, "events_raw.csv", ("\n".join([header, *lines]) + "\n").encode())
    result = run(tmp_path)
    # E1 ",a" and ", a " are the same record once trimmed; ",b" is another record (an id duplicate)
    assert (result.stats.dropped_duplicates, result.stats.id_duplicates) == (2, 1)


def test_values_containing_separators_do_not_make_rows_equal(tmp_path):
    # Joined with a separator, these two rows would read the same; they are different records.
    a = f'E1,C1,2025-12-10 10:00:00,page_view,web,"S\x1f1",100,{D}'
    b = f'E1,C1,2025-12-10 10:00:00,page_view,web,S,"1\x1f100",{D}'
    c = f"E1,C1,2025-12-10 10:00:00,page_view,web,S:1,100,{D}"
    d = f"E1,C1,2025-12-10 10:00:00,page_view,web,S,1:100,{D}"
    events_file(tmp_path, [a, b, c, d])
    result = run(tmp_path)
    assert result.stats.dropped_duplicates == 0 and result.stats.total == 4


# ----------------------------------------------------------------------------- values


def test_extra_columns_hold_valid_json_whatever_the_bytes(tmp_path):
    values = ["tab\there", "nul\x00byte", "bell\x07", 'quote " and \\ back', "line\nbreak", "\x1f\x7f", "é€😀"]
    header = EVENT_HEADER + ",note"
    lines = [f'{ev(f"E{i}", customer="C999")},"{v.replace(chr(34), chr(34) * 2)}"' for i, v in enumerate(values)]
    write_bytes(tmp_path, "events_raw.csv", ("\n".join([header, *lines]) + "\n").encode())
    result = run(tmp_path)
    notes = {r["event_id"]: json.loads(r["extra_columns"])["note"] for r in result.quarantine.to_pylist()}
    assert notes == {f"E{i}": v for i, v in enumerate(values)}


def test_a_multi_line_value_longer_than_many_blocks_stays_one_record(tmp_path):
    long_value = "\n".join(f"paragraph {i} " + "x" * 50 for i in range(400))  # about 26 KB
    lines = [ev("E1"), f'E2,C1,2025-12-10 10:00:00,page_view,web,"{long_value}",100,{D}', ev("E3")]
    events_file(tmp_path, lines)
    result = run(tmp_path, block_bytes=512)
    assert clean_ids(result) == ["E1", "E2", "E3"]
    assert result.clean.column("session_id").to_pylist()[1] == long_value


def test_an_unterminated_quote_does_not_swallow_a_large_file(tmp_path):
    lines = [ev("E0"), f'E1,C1,2025-12-10 10:00:00,page_view,web,"S1,100,{D}'] + [ev(f"E{i:04d}") for i in range(2, 3000)]
    events_file(tmp_path, lines)
    result = run(tmp_path, block_bytes=1024)
    assert result.stats.malformed == 1 and result.clean.num_rows == 2999


# ----------------------------------------------------------------------------- files


def test_a_dangling_feed_link_fails_with_a_clear_message(tmp_path):
    events_file(tmp_path, [ev("E1")])
    os.symlink(tmp_path / "nowhere.csv", tmp_path / f"ingest_date={D}" / "events_raw_2.csv")
    with pytest.raises(RawInputError, match="events_raw_2.csv"):
        run_dir(tmp_path, EVENTS)


def test_a_feed_file_that_is_a_folder_is_not_read(tmp_path):
    events_file(tmp_path, [ev("E1")])
    (tmp_path / f"ingest_date={D}" / "events_raw_dir.csv").mkdir()
    assert run(tmp_path).stats.files == ["events_raw.csv"]


def test_a_line_far_longer_than_any_record_fails_clearly(tmp_path, monkeypatch):
    from prodq_dagster.core import reader

    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 4096)
    write_bytes(tmp_path, "events_raw.csv", (EVENT_HEADER + "\n").encode() + b"x" * 20_000)
    with pytest.raises(RawInputError, match="longer than"):
        run_dir(tmp_path, EVENTS, block_bytes=1024)


# ----------------------------------------------------------------------------- through the CLI


def _raw_day(root: Path) -> Path:
    folder = root / f"ingest_date={D}"
    folder.mkdir(parents=True)
    customers = "customer_id,email,created_at,country,status,ingest_date\n" + f"C1,c1@example.com,2025-12-01 10:00:00,US,active,{D}\n"
    (folder / "customers_raw.csv").write_text(customers)
    return folder


def test_cli_day_with_hostile_lines_succeeds_and_accounts_for_every_line(tmp_path, dagster_home):
    folder = _raw_day(tmp_path / "raw")
    lines = [ev("E1"), ev("E2", session='27" monitor'), ev("E3", session='27" tv'), ev("E4", session='"S4"x'), ev("E5")]
    (folder / "events_raw.csv").write_bytes(b"\r\n" + ("\r".join([EVENT_HEADER, *lines]) + "\r").encode())
    (folder / "orders_raw.csv").write_text(ORDER_HEADER + "\n" + f"O1,C1,2025-12-10 10:00:00,9999999999999999.995,USD,paid,{D}\n")
    proc = run_cli(["--data_dir", tmp_path / "raw", "--out_dir", tmp_path / "out", "--date", D], dagster_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "reports" / f"ingest_date={D}" / "validation_report.json").read_text())
    events = report["events"]
    assert (events["total"], events["clean"], events["malformed"]) == (5, 2, 3)
    assert report["orders"]["by_reason"] == {"invalid_amount": 1}
    quarantine = pq.read_table(tmp_path / "out" / "quarantine" / "events" / f"ingest_date={D}" / "part-0.parquet")
    assert sorted(quarantine.column("raw_text").to_pylist()) == sorted(lines[1:4])


def test_cli_corrupt_gzip_fails_the_day_with_one_clear_line(tmp_path, dagster_home):
    folder = _raw_day(tmp_path / "raw")
    (folder / "events_raw.csv").write_text(EVENT_HEADER + "\n" + ev("E1") + "\n")
    data = gzip.compress((ORDER_HEADER + "\n" + f"O1,C1,2025-12-10 10:00:00,1,USD,paid,{D}\n" * 200).encode())
    (folder / "orders_raw.csv.gz").write_bytes(data[: len(data) // 2])
    proc = run_cli(["--data_dir", tmp_path / "raw", "--out_dir", tmp_path / "out", "--date", D], dagster_home)
    assert proc.returncode == 1
    assert "orders_raw.csv.gz" in proc.stderr and "Traceback" not in proc.stderr and "Stack Trace" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "out" / "clean" / "events" / f"ingest_date={D}" / "part-0.parquet").exists()  # nothing of the step published


# ----------------------------------------------------------------------------- runs sharing an output root


def test_cleanup_tolerates_files_that_vanish_between_listing_and_delete(tmp_path, monkeypatch):
    """Runs sharing an output root clean up after each other: a file or folder another run
    removed after this run listed it (stale partition files, abandoned staged files, abandoned
    spill folders) is not an error, and the cleanup goes on with the other entries."""
    import shutil
    import time

    from prodq_dagster.core import storage

    store = storage.open_store(str(tmp_path))
    target = storage.partition_file("clean/events", D)
    folder = tmp_path / target.rpartition("/")[0]
    folder.mkdir(parents=True)
    for name in ("part-0.parquet", "part-1.parquet", "notes.txt"):
        (folder / name).write_bytes(b"x")
    old = time.time() - storage.ABANDONED_AFTER_SECONDS - 60
    staging, scratch = tmp_path / storage.STAGING, tmp_path / storage.SCRATCH
    staging.mkdir()
    (scratch / "spill-gone").mkdir(parents=True)
    for path in (staging / "gone.parquet", staging / "dead.parquet", scratch / "spill-gone"):
        if not path.exists():
            path.write_bytes(b"x")
        os.utime(path, (old, old))
    vanish = {"part-1.parquet", "gone.parquet", "spill-gone"}

    real_list = storage.Store._list_local

    def listed_then_removed_by_another_run(path: str):
        entries = real_list(path)
        for entry in entries:
            if entry.name in vanish:
                gone = Path(path) / entry.name
                shutil.rmtree(gone) if gone.is_dir() else gone.unlink()
        return entries

    monkeypatch.setattr(storage.Store, "_list_local", staticmethod(listed_then_removed_by_another_run))
    store.remove_stale(target)
    store._remove_abandoned(storage.STAGING)
    store.scratch_dir()
    assert sorted(os.listdir(folder)) == ["part-0.parquet"]
    assert os.listdir(staging) == []
    assert os.listdir(scratch) == []


def test_listing_skips_a_file_removed_between_listing_and_stat(tmp_path, monkeypatch):
    from prodq_dagster.core import storage

    folder = tmp_path / "day"
    folder.mkdir()
    for name in ("a.csv", "b.csv"):
        (folder / name).write_bytes(b"x")
    real_scandir = os.scandir

    def scandir_then_remove(path):
        entries = list(real_scandir(path))
        (Path(path) / "a.csv").unlink(missing_ok=True)  # another process, between the listing and the stat
        return iter(entries)

    monkeypatch.setattr(storage.os, "scandir", scandir_then_remove)
    assert [e.name for e in storage.open_store(str(tmp_path)).listdir("day")] == ["b.csv"]


def test_parallel_days_share_one_output_root(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    from datetime import date, timedelta

    from prodq_dagster.core import storage
    from prodq_dagster.core.streaming import stream_entity
    from prodq_dagster_tests.test_core_support import VOCAB, master

    days = [(date(2025, 12, 1) + timedelta(days=i)).isoformat() for i in range(6)]
    for day in days:
        folder = tmp_path / "raw" / f"ingest_date={day}"
        folder.mkdir(parents=True)
        lines = [f"E{day[-2:]}{i:04d},C1,{day} 10:00:00,page_view,web,S{i},100,{day}" for i in range(300)]
        (folder / "events_raw.csv").write_text(EVENT_HEADER + "\n" + "\n".join(lines) + "\n")
    raw, out = storage.open_store(str(tmp_path / "raw")), storage.open_store(str(tmp_path / "out"))

    def one(day: str):
        outcome = stream_entity(raw, EVENTS, date.fromisoformat(day), master(), VOCAB, out, bucket_rows=50, block_bytes=2048)
        out.publish(outcome.clean, storage.partition_file("clean/events", day))
        out.publish(outcome.quarantine, storage.partition_file("quarantine/events", day))
        return outcome.stats.clean

    for _ in range(3):
        with ThreadPoolExecutor(max_workers=3) as pool:
            assert list(pool.map(one, days)) == [300] * len(days)
    for day in days:
        assert out.read_table(storage.partition_file("clean/events", day)).num_rows == 300
    # No spill folder and no staged file is left behind.
    leftovers = [p for hidden in (storage.SCRATCH, storage.STAGING) for p in (tmp_path / "out" / hidden).rglob("*")]
    assert leftovers == []


def test_a_nul_byte_after_a_bare_cr_header_is_content_not_an_encoding(tmp_path):
    """Found by the fuzz: the header ends at a bare CR; a NUL in the next line is a value."""
    data = (EVENT_HEADER + "\r" + "E1,E1,E1,E1,E1,E1,E1,\x00nul\n" + ev("E2") + "\n").encode()
    write_bytes(tmp_path, "events_raw.csv", data)
    result = run(tmp_path)
    assert result.stats.total == 2 and clean_ids(result) == ["E2"]


def test_an_empty_sibling_file_is_not_schema_drift(tmp_path):
    events_file(tmp_path, [ev("E1")])
    for name, data in (("events_raw_2.csv", b""), ("events_raw_3.csv", b"\xef\xbb\xbf"), ("events_raw_4.csv", b"\n \n")):
        write_bytes(tmp_path, name, data)
    result = run(tmp_path)
    assert (result.stats.missing_columns, result.stats.extra_columns) == ([], [])
    assert len(result.stats.files) == 4


def test_a_gzip_file_named_csv_fails_clearly(tmp_path):
    write_bytes(tmp_path, "events_raw.csv", gzip.compress((EVENT_HEADER + "\n" + ev("E1") + "\n").encode()))
    with pytest.raises(RawInputError, match="gzip-compressed; name it .csv.gz"):
        run_dir(tmp_path, EVENTS)


def test_a_quoted_header_name_may_span_lines(tmp_path):
    header = '"event\n_id",' + ",".join(EVENTS.columns[1:])
    write_bytes(tmp_path, "events_raw.csv", (header + "\n" + ev("E1") + "\n" + "E2,too,few\n").encode())
    result = run(tmp_path)
    assert result.stats.total == 2 and result.stats.malformed == 1
    assert malformed(result) == [(4, "E2,too,few")]  # the header took lines 1-2
    assert "event\n_id" in result.stats.extra_columns


def test_a_huge_header_name_and_a_huge_quoted_value(tmp_path):
    header = EVENT_HEADER + "," + "x" * 200_000
    value = "A" * 300_000 + "\n" + "B" * 300_000
    lines = [f'E1,C1,2025-12-10 10:00:00,page_view,web,"{value}",100,{D},v', ev("E2") + ",v"]
    write_bytes(tmp_path, "events_raw.csv", ("\n".join([header, *lines]) + "\n").encode())
    result = run(tmp_path, block_bytes=1 << 16)
    assert clean_ids(result) == ["E1", "E2"]
    assert result.clean.column("session_id").to_pylist()[0] == value


def test_latin1_bytes_in_a_malformed_line_mark_the_file_repaired(tmp_path):
    write_bytes(tmp_path, "orders_raw.csv", (ORDER_HEADER + "\n").encode() + b"caf\xe9,broken\n")
    result = run(tmp_path, ORDERS)
    assert malformed(result) == [(2, "café,broken")]
    assert result.stats.encoding_repaired_files == ["orders_raw.csv"]


def test_cli_unwritable_reports_dir_creates_nothing(tmp_path, dagster_home):
    _raw_day(tmp_path / "raw")
    (tmp_path / "a_file").write_text("x")
    proc = run_cli(["--data_dir", tmp_path / "raw", "--out_dir", tmp_path / "new_out", "--reports_dir", tmp_path / "a_file" / "r", "--date", D], dagster_home)
    assert proc.returncode == 2 and proc.stderr.startswith("prodq: error: --reports-dir")
    assert not (tmp_path / "new_out").exists()


def test_cli_damaged_output_partition_is_one_clear_line(tmp_path, dagster_home):
    _raw_day(tmp_path / "raw")
    damaged = tmp_path / "out" / "clean" / "customers" / "ingest_date=2025-12-09" / "part-0.parquet"
    damaged.parent.mkdir(parents=True)
    damaged.write_text("not parquet")
    proc = run_cli(["--data_dir", tmp_path / "raw", "--out_dir", tmp_path / "out", "--date", D], dagster_home)
    assert proc.returncode == 1
    assert "cannot read the partition file" in proc.stderr and str(damaged) in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
