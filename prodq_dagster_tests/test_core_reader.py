"""The block reader (``reader.iter_file_blocks``, what the streaming path reads with): headers,
encodings, compression, several files, ragged lines, quoting, schema drift."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pytest

from prodq_dagster.core.outputs import CLEAN_SCHEMAS, QUARANTINE_SCHEMAS
from prodq_dagster.core.reader import RawInputError, day_folder, find_files, iter_file_blocks, normalize_header
from prodq_dagster.core.storage import open_store
from prodq_dagster_tests.test_core_support import (
    CUSTOMERS,
    D,
    DAY,
    EVENTS,
    ORDERS,
    conserved,
    day_dir,
    good_event,
    rows_by,
    run_dir,
    write_bytes,
    write_csv,
)

HEADER = list(EVENTS.columns)


def ev_line(eid: str, hour: int = 1, session: str = "S1") -> str:
    return f"{eid},C1,2025-12-10 {hour:02d}:00:00,page_view,web,{session},100,{D}"


def write_lines(root, lines: list[str], name: str = "events_raw.csv", eol: str = "\n") -> None:
    write_bytes(root, name, (eol.join([",".join(HEADER)] + lines) + eol).encode("utf-8"))


def blocks_of(path, entity=EVENTS, block_bytes: int = 1 << 20):
    """``iter_file_blocks`` of a file ``<raw root>/ingest_date=D/<name>``, read through the raw root's store."""
    return iter_file_blocks(open_store(str(path.parent.parent)), f"{path.parent.name}/{path.name}", entity, block_bytes)


def read_all(path, entity=EVENTS, block_bytes: int = 1 << 20):
    """(header, records, malformed) of one file, every block concatenated."""
    blocks = blocks_of(path, entity, block_bytes)
    header = next(blocks)
    parts = list(blocks)
    records = pa.concat_tables([p[0] for p in parts]) if parts else None
    malformed = pa.concat_tables([p[1] for p in parts]) if parts else None
    return header, records, malformed


def read_day(root, entity=EVENTS):
    """Records and malformed lines of every file of the entity in the day folder."""
    tables, bad = [], []
    for rel in find_files(open_store(str(root)), day_folder(DAY), entity):
        _, records, malformed = read_all(root / rel, entity)
        if records is not None:
            tables.append(records)
            bad.append(malformed)
    return pa.concat_tables(tables), pa.concat_tables(bad)


def source_lines(root, entity=EVENTS) -> dict[str, int]:
    table, _ = read_day(root, entity)
    return dict(zip(table.column(entity.primary_key).to_pylist(), table.column("source_line").to_pylist()))


# ---------------------------------------------------------------------------- headers and encodings


def test_header_names_trimmed_case_insensitive_any_order(tmp_path):
    order = ["duration_ms", "ingest_date", "session_id", "event_id", "platform", "event_type", "customer_id", "event_time"]
    header = [f"  {c.upper() if i % 2 else c.title()} " for i, c in enumerate(order)]
    row = good_event("E1", duration_ms="250", platform="iPhone", session_id="S7")
    write_csv(tmp_path, D, "events", [[row[c] for c in order]], header=header)
    result = run_dir(tmp_path, EVENTS)
    assert (result.stats.missing_columns, result.stats.extra_columns) == ([], [])
    assert result.quarantine.num_rows == 0
    clean = result.clean.to_pylist()[0]
    assert (clean["event_id"], clean["duration_ms"], clean["platform"], clean["session_id"]) == ("E1", 250, "ios", "S7")


def test_bom_and_crlf(tmp_path):
    body = "\r\n".join([",".join(HEADER), ev_line("E1"), ev_line("E2", 2), ""]).encode("utf-8")
    write_bytes(tmp_path, "events_raw.csv", b"\xef\xbb\xbf" + body)
    result = run_dir(tmp_path, EVENTS)
    assert result.stats.missing_columns == []
    assert result.quarantine.num_rows == 0, result.quarantine.column("reject_reason").to_pylist()
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2"]
    assert result.stats.total == 2


def test_crlf_without_trailing_newline_and_blank_crlf_lines(tmp_path):
    body = "\r\n".join([",".join(HEADER), ev_line("E1"), "", ev_line("E2", 2), "", ""]).rstrip("\r\n")
    write_bytes(tmp_path, "events_raw.csv", body.encode())
    result = run_dir(tmp_path, EVENTS)
    assert result.stats.total == 2
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2"]


def test_gzip_file(tmp_path):
    text = "\n".join([",".join(HEADER), ev_line("E1"), ev_line("E2", 2)]) + "\n"
    write_bytes(tmp_path, "events_raw.csv.gz", gzip.compress(text.encode()))
    result = run_dir(tmp_path, EVENTS)
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2"]
    assert result.stats.files == ["events_raw.csv.gz"]


def test_several_files_per_entity(tmp_path):
    write_lines(tmp_path, [ev_line("E1"), ev_line("E2", 2)], name="events_raw_part1.csv")
    part2 = "\n".join([",".join(HEADER), ev_line("E3", 3), "E4,C1,bad-ts,page_view,web,S1,100," + D]) + "\n"
    write_bytes(tmp_path, "events_raw_part2.csv.gz", gzip.compress(part2.encode()))
    write_bytes(tmp_path, "events_raw_notes.txt", b"not a feed\n")
    write_csv(tmp_path, D, "orders", [], name="orders_raw.csv")
    result = run_dir(tmp_path, EVENTS)
    assert sorted(result.stats.files) == ["events_raw_part1.csv", "events_raw_part2.csv.gz"]
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2", "E3"]
    q = result.quarantine.to_pylist()
    assert [(r["event_id"], r["source_file"], r["source_line"], r["reject_reason"]) for r in q] == [
        ("E4", "events_raw_part2.csv.gz", 3, "invalid_event_time")
    ]
    assert result.stats.total == 4


# ---------------------------------------------------------------------------- malformed lines


def test_ragged_lines_become_malformed_rows_with_text_and_line(tmp_path):
    too_many = ev_line("E3", 3) + ",surplus"
    too_few = "E4,C1,2025-12-10 04:00:00"
    write_lines(tmp_path, [ev_line("E1"), ev_line("E2", 2), too_many, ev_line("E5", 5), too_few, ev_line("E6", 6)])
    result = run_dir(tmp_path, EVENTS)
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2", "E5", "E6"]
    q = result.quarantine.to_pylist()
    assert sorted((r["source_line"], r["raw_text"], r["reject_reason"]) for r in q) == [
        (4, too_many, "malformed_row"),
        (6, too_few, "malformed_row"),
    ]
    for r in q:
        assert r["event_id"] is None and r["source_file"] == "events_raw.csv"
    assert result.stats.malformed == 2
    assert result.stats.total == 6
    assert conserved(result.stats)
    assert source_lines(tmp_path) == {"E1": 2, "E2": 3, "E5": 5, "E6": 7}


def test_unbalanced_quote_costs_only_its_own_line(tmp_path):
    broken = 'E2,C1,"2025-12-10 02:00:00,page_view,web,S1,100,' + D
    write_lines(tmp_path, [ev_line("E1"), broken, ev_line("E3", 3), ev_line("E4", 4), ev_line("E5", 5)])
    result = run_dir(tmp_path, EVENTS)
    assert result.clean.column("event_id").to_pylist() == ["E1", "E3", "E4", "E5"]
    q = result.quarantine.to_pylist()
    assert [(r["source_line"], r["raw_text"], r["reject_reason"]) for r in q] == [(3, broken, "malformed_row")]
    assert result.stats.total == 5
    assert source_lines(tmp_path) == {"E1": 2, "E3": 4, "E4": 5, "E5": 6}


def test_unbalanced_quote_in_last_line(tmp_path):
    broken = 'E9,C1,2025-12-10 02:00:00,page_view,web,"S1,100,' + D
    write_lines(tmp_path, [ev_line("E1"), ev_line("E2", 2), broken])
    result = run_dir(tmp_path, EVENTS)
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2"]
    assert result.quarantine.column("raw_text").to_pylist() == [broken]


def test_quoted_field_with_embedded_newline(tmp_path):
    multi = f'E2,C1,2025-12-10 02:00:00,page_view,web,"S\nX, y",100,{D}'
    write_lines(tmp_path, [ev_line("E1"), multi, ev_line("E3", 3)])
    result = run_dir(tmp_path, EVENTS)
    assert result.quarantine.num_rows == 0
    assert rows_by(result.clean, "event_id")["E2"]["session_id"] == "S\nX, y"
    assert result.stats.total == 3
    # physical line numbers: E2 starts on line 3 and spans two lines, so E3 is on line 5
    assert source_lines(tmp_path) == {"E1": 2, "E2": 3, "E3": 5}


def test_quoted_value_with_carriage_return_and_newline_is_one_record(tmp_path):
    # A CR or LF inside quotes is field content. Line numbers count every physical line end
    # (LF, CRLF, a bare CR), so the record on line 4 spans lines 4-6 and E3 is on line 7.
    quoted = f'"E2","C1","2025-12-10 02:00:00","page_view","web","S\r2\nX","100","{D}"'
    write_lines(tmp_path, [ev_line("E1"), "ragged,line", quoted, ev_line("E3", 3)])
    table, malformed = read_day(tmp_path)
    assert sorted(table.column("session_id").to_pylist()) == sorted(["S1", "S\r2\nX", "S1"])
    assert malformed.column("source_line").to_pylist() == [3]
    assert source_lines(tmp_path) == {"E1": 2, "E2": 4, "E3": 7}


def test_latin1_byte_does_not_crash(tmp_path):
    header = ",".join(HEADER).encode()
    line = b"E1,C1,2025-12-10 01:00:00,page_view,web,caf" + b"\xe9" + f",100,{D}".encode()
    write_bytes(tmp_path, "events_raw.csv", header + b"\n" + line + b"\n" + ev_line("E2", 2).encode() + b"\n")
    result = run_dir(tmp_path, EVENTS)
    assert result.quarantine.num_rows == 0
    assert rows_by(result.clean, "event_id")["E1"]["session_id"] == "café"
    assert result.clean.num_rows == 2


def test_blank_lines_are_not_records(tmp_path):
    write_lines(tmp_path, ["", ev_line("E1"), "", "", ev_line("E2", 2), ""])
    result = run_dir(tmp_path, EVENTS)
    assert result.stats.total == 2
    assert result.stats.malformed == 0
    assert result.quarantine.num_rows == 0
    assert source_lines(tmp_path) == {"E1": 3, "E2": 6}


# ---------------------------------------------------------------------------- schema drift


def test_missing_required_column(tmp_path):
    header = [c for c in HEADER if c != "event_time"]
    row = good_event("E1")
    write_csv(tmp_path, D, "events", [[row[c] for c in header]], header=header)
    result = run_dir(tmp_path, EVENTS)
    assert result.stats.missing_columns == ["event_time"]
    assert result.clean.num_rows == 0
    assert result.quarantine.column("reject_reason").to_pylist() == ["missing_column:event_time|invalid_event_time"]
    assert result.quarantine.column("event_time").to_pylist() == [None]


def test_missing_optional_column_only_warns(tmp_path):
    header = [c for c in HEADER if c != "session_id"]
    row = good_event("E1")
    write_csv(tmp_path, D, "events", [[row[c] for c in header]], header=header)
    result = run_dir(tmp_path, EVENTS)
    assert result.stats.missing_columns == ["session_id"]
    assert result.clean.column("warn_reason").to_pylist() == ["missing_session_id"]
    assert result.quarantine.num_rows == 0


def test_missing_column_only_in_one_file_affects_only_its_rows(tmp_path):
    write_lines(tmp_path, [ev_line("E1")], name="events_raw_a.csv")
    header = [c for c in HEADER if c != "event_type"]
    row = good_event("E2")
    write_csv(tmp_path, D, "events", [[row[c] for c in header]], header=header, name="events_raw_b.csv")
    result = run_dir(tmp_path, EVENTS)
    assert result.clean.column("event_id").to_pylist() == ["E1"]
    assert result.quarantine.column("reject_reason").to_pylist() == ["missing_column:event_type|invalid_event_type"]
    assert result.stats.missing_columns == ["event_type"]


def test_extra_column_reported_and_packed_as_json(tmp_path):
    header = HEADER + ["Promo Code"]
    tricky = 'he said "hi", back\\slash\nnew line'
    good = good_event("E1")
    bad = good_event("E2", event_type="teleport")
    write_csv(tmp_path, D, "events", [[good[c] for c in HEADER] + ["X1"], [bad[c] for c in HEADER] + [tricky]], header=header)
    result = run_dir(tmp_path, EVENTS)
    assert result.clean.schema == CLEAN_SCHEMAS["events"]
    assert "promo code" not in result.clean.column_names
    assert result.stats.extra_columns == ["promo code"]
    assert result.quarantine.schema == QUARANTINE_SCHEMAS["events"]
    packed = result.quarantine.column("extra_columns").to_pylist()
    assert len(packed) == 1
    assert json.loads(packed[0]) == {"promo code": tricky}


# ---------------------------------------------------------------------------- empty and absent feeds


@pytest.mark.parametrize("content", [b"", ",".join(HEADER).encode(), (",".join(HEADER) + "\r\n").encode(), b"\xef\xbb\xbf" + (",".join(HEADER) + "\n").encode()],
                         ids=["zero-byte", "header-no-newline", "header-crlf", "bom-header"])
def test_empty_and_header_only_files_give_zero_rows(tmp_path, content):
    write_bytes(tmp_path, "events_raw.csv", content)
    result = run_dir(tmp_path, EVENTS)
    assert result.stats.total == 0
    assert result.clean.num_rows == 0 and result.quarantine.num_rows == 0
    assert result.stats.feed_present is True
    assert result.clean.schema == CLEAN_SCHEMAS["events"]


@pytest.mark.parametrize("entity", [CUSTOMERS, EVENTS, ORDERS], ids=lambda e: e.name)
def test_missing_feed(tmp_path, entity):
    # another entity's file is present in the day folder, this entity's is not
    if entity is EVENTS:
        write_csv(tmp_path, D, "orders", [], name="orders_raw.csv")
    else:
        write_lines(tmp_path, [ev_line("E1")])
    target = entity
    assert find_files(open_store(str(tmp_path)), day_folder(DAY), target) == []
    result = run_dir(tmp_path, target)
    assert result.stats.feed_present is False
    assert result.stats.total == 0
    assert result.clean.schema == CLEAN_SCHEMAS[target.name]
    assert result.quarantine.schema == QUARANTINE_SCHEMAS[target.name]


def test_missing_day_folder(tmp_path):
    result = run_dir(tmp_path, EVENTS, day="2030-01-01")
    assert result.stats.feed_present is False
    assert result.stats.total == 0


def test_unbalanced_quote_in_last_field_costs_only_its_own_line(tmp_path):
    # The opening quote sits in the last column, so the field count of the swallowed
    # span still matches the header: the following good lines must not vanish into it.
    broken = f"E2,C1,2025-12-10 02:00:00,page_view,web,S2,100,\"{D}"
    write_lines(tmp_path, [ev_line("E1"), broken, ev_line("E3", 3), ev_line("E4", 4)])
    result = run_dir(tmp_path, EVENTS)
    assert result.clean.column("event_id").to_pylist() == ["E1", "E3", "E4"]
    q = result.quarantine.to_pylist()
    assert [(r["source_line"], r["raw_text"], r["reject_reason"]) for r in q] == [(3, broken, "malformed_row")]
    assert result.stats.total == 4
    assert conserved(result.stats)


def test_stray_quote_line_judged_the_same_whatever_the_other_lines(tmp_path):
    # A line's fate must not depend on an unrelated ragged line elsewhere in the file.
    stray = "E2,C1,2025-12-10 02:00:00,page_view,web,S\"2,100," + D
    write_lines(tmp_path / "a", [ev_line("E1"), stray, ev_line("E3", 3)])
    write_lines(tmp_path / "b", [ev_line("E1"), stray, ev_line("E3", 3), "E9,too,few"])
    alone = run_dir(tmp_path / "a", EVENTS)
    with_ragged = run_dir(tmp_path / "b", EVENTS)

    def fate(result):
        clean = result.clean.column("event_id").to_pylist()
        malformed = [r["raw_text"] for r in result.quarantine.to_pylist() if r["reject_reason"] == "malformed_row"]
        return ("E2" in clean, stray in malformed)

    assert fate(alone) == fate(with_ragged)
    assert with_ragged.clean.column("event_id").to_pylist()[:1] == ["E1"]


# ---------------------------------------------------------------------------- block reading


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("block_bytes", [64, 200, 1 << 20])
def test_blocks_concatenate_to_the_whole_file(tmp_path, block_bytes, compressed):
    # Messy content: quoted newlines, a stray quote, CRLF, blank lines, latin-1, and a
    # record longer than the smallest blocks; the block reader must give what one read gives.
    long_session = "S" * 300
    lines = [ev_line(f"E{i:03d}", i % 24, session=f"S{i}") for i in range(60)]
    lines[5] = f'E005,C1,2025-12-10 02:00:00,page_view,web,"multi\nline, quoted",100,{D}'
    lines[17] = 'E017,C1,"2025-12-10 02:00:00,page_view,web,S1,100,' + D
    lines[23] = ""
    lines[31] = ev_line("E031", session=long_session)
    lines[40] = "E040,C1,only,three"
    text = "\r\n".join([",".join(HEADER)] + lines) + "\r\n"
    data = text.encode("utf-8").replace(b"S44", b"S\xe94")
    write_bytes(tmp_path, "events_raw.csv.gz" if compressed else "events_raw.csv", gzip.compress(data) if compressed else data)
    path = next(day_dir(tmp_path).iterdir())
    _, whole, whole_malformed = read_all(path, EVENTS, 1 << 30)
    blocks = blocks_of(path, EVENTS, block_bytes)
    header = next(blocks)
    assert header.missing == [] and header.extra == []
    parts = list(blocks)
    if block_bytes < 300:
        assert len(parts) > 5
    records = pa.concat_tables([p[0] for p in parts]).sort_by("source_line")
    malformed = pa.concat_tables([p[1] for p in parts])
    assert records.equals(whole.sort_by("source_line"))
    assert malformed.equals(whole_malformed)
    assert malformed.column("source_line").to_pylist() == [20, 43]
    assert records.num_rows == 57 and long_session in records.column("session_id").to_pylist()
    assert "multi\nline, quoted" in records.column("session_id").to_pylist()
