"""Bad raw input, end to end: real files on disk through the real pipeline.

Every case writes actual bytes under ``raw/ingest_date=D/`` and runs either the whole
Dagster chain (``materialize_day``: raw -> clean/quarantine -> master -> metrics ->
reports) or the streaming path the assets call (``stream_entity``, with small read blocks
and dedupe buckets), then checks the reason codes or the
clean outcome *and* conservation (total = clean + quarantine + dropped duplicates),
every time. The last part drives the real CLI in a subprocess with wrong arguments.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prodq_dagster import checks
from prodq_dagster.core.contract import ENTITIES
from prodq_dagster.core.reader import RawInputError
from prodq_dagster.core.rules import RULES
from prodq_dagster_tests.test_core_support import EntityResult, run_dir

from .conftest import REPO_ROOT, materialize_day

D = "2025-12-10"
DAY = date(2025, 12, 10)
MASTER = ("C1", "C2", "C3")
COLUMNS = {name: list(entity.columns) for name, entity in ENTITIES.items()}
UTC = timezone.utc


# ----------------------------------------------------------------------------- helpers


def good(entity: str, key: str, **over) -> dict:
    base = {
        "customers": {
            "customer_id": key,
            "email": f"{key.lower()}@example.com",
            "created_at": "2025-12-01 10:00:00",
            "country": "US",
            "status": "active",
            "ingest_date": D,
        },
        "events": {
            "event_id": key,
            "customer_id": "C1",
            "event_time": "2025-12-10 10:00:00",
            "event_type": "page_view",
            "platform": "web",
            "session_id": "S1",
            "duration_ms": "1000",
            "ingest_date": D,
        },
        "orders": {
            "order_id": key,
            "customer_id": "C1",
            "order_time": "2025-12-10 10:00:00",
            "amount": "10.00",
            "currency": "USD",
            "status": "paid",
            "ingest_date": D,
        },
    }[entity]
    return base | over


def csv_text(header: list[str], rows: list[list[str] | dict], eol: str = "\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=eol)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return buffer.getvalue()


def line(entity: str, key: str, **over) -> str:
    """One unquoted CSV line of a good row (values must not need quoting)."""
    row = good(entity, key, **over)
    return ",".join(row[c] for c in COLUMNS[entity])


def lines_file(entity: str, lines: list[str], eol: str = "\n") -> bytes:
    return eol.join([",".join(COLUMNS[entity]), *lines]).encode("utf-8") + eol.encode()


def day_dir(root: Path, day: str = D) -> Path:
    return Path(root) / f"ingest_date={day}"


def put(root: Path, name: str, data: bytes | str, day: str = D) -> Path:
    folder = day_dir(root, day)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def assert_conserved(stats) -> None:
    """Conservation of an ``EntityStats`` or of a validation-report section."""
    terms = stats if isinstance(stats, dict) else stats.to_dict()
    assert terms["total"] == terms["clean"] + terms["quarantine"] + terms["dropped_duplicates"], stats


def run(root: Path, entity: str, master=MASTER, day: date = DAY) -> EntityResult:
    """The shipped streaming path over the real folder; checks the invariants every case shares."""
    result = run_dir(root, ENTITIES[entity], ids=master, day=day.isoformat())
    assert result.contract.passed, result.contract.failures_by_check
    stats = result.stats
    assert_conserved(stats)
    assert stats.clean == result.clean.num_rows
    assert stats.quarantine == result.quarantine.num_rows
    reasons = result.quarantine.column("reject_reason").to_pylist()
    assert stats.malformed == reasons.count("malformed_row")
    for reason in reasons:
        assert reason, "every quarantined row has a reason"
        for code in reason.split("|"):
            assert code in RULES or code.startswith("missing_column:"), code
    return result


def clean_ids(result: EntityResult) -> list[str]:
    return result.clean.column(ENTITIES[result.stats.entity].primary_key).to_pylist()


def by_key(table: pa.Table, key: str) -> dict:
    return {row[key]: row for row in table.to_pylist()}


def quarantine_reasons(result: EntityResult) -> dict:
    """primary key -> reject_reason of the parsed (not malformed) quarantine rows."""
    key = ENTITIES[result.entity].primary_key
    return {r[key]: r["reject_reason"] for r in result.quarantine.to_pylist() if r["reject_reason"] != "malformed_row"}


def malformed(result: EntityResult) -> list[tuple[int, str, str]]:
    return sorted(
        (r["source_line"], r["source_file"], r["raw_text"])
        for r in result.quarantine.to_pylist()
        if r["reject_reason"] == "malformed_row"
    )


# ----------------------------------------------------------------------------- ragged lines and quoting


def test_ragged_lines_too_many_and_too_few_fields(tmp_path):
    too_many = line("events", "E3") + ",surplus,more"
    too_few = "E4,C1,2025-12-10 10:00:00,page_view"
    one_field = "E5"
    body = [line("events", "E1"), line("events", "E2"), "", too_many, too_few, one_field, line("events", "E6")]
    put(tmp_path, "events_raw.csv", lines_file("events", body))

    result = run(tmp_path, "events")

    assert clean_ids(result) == ["E1", "E2", "E6"]
    # physical line numbers (header = 1, the blank line 4 is not a record)
    assert malformed(result) == [
        (5, "events_raw.csv", too_many),
        (6, "events_raw.csv", too_few),
        (7, "events_raw.csv", one_field),
    ]
    assert result.stats.malformed == 3
    assert result.stats.total == 6
    assert result.stats.by_reason == {"malformed_row": 3}


def test_malformed_rows_keep_contract_columns_empty(tmp_path):
    put(tmp_path, "orders_raw.csv", lines_file("orders", [line("orders", "O1"), "O2,C1,,,"]))
    result = run(tmp_path, "orders")
    [row] = [r for r in result.quarantine.to_pylist() if r["reject_reason"] == "malformed_row"]
    assert row["raw_text"] == "O2,C1,,,"
    assert row["source_line"] == 3
    # the raw text is the record; no half-parsed values leak into the typed columns
    assert all(row[c] is None for c in ("order_id", "customer_id", "amount", "ingest_date_raw"))


def test_unbalanced_quote_loses_only_its_line(tmp_path):
    broken = 'E2,C1,2025-12-10 10:00:00,page_view,web,"S2 unterminated,1000,' + D
    body = [line("events", "E1"), broken] + [line("events", f"E{i}") for i in range(3, 9)]
    put(tmp_path, "events_raw.csv", lines_file("events", body))

    result = run(tmp_path, "events")

    assert clean_ids(result) == ["E1", "E3", "E4", "E5", "E6", "E7", "E8"]
    assert malformed(result) == [(3, "events_raw.csv", broken)]
    assert result.stats.total == 8


def test_quoted_fields_with_commas_quotes_and_newlines_are_one_record(tmp_path):
    rows = [
        good("events", "E1", session_id="multi\nline"),
        good("events", "E2", session_id='say "hi", twice'),
        good("events", "E3", session_id="a\r\nb"),
        good("events", "E4"),
    ]
    put(tmp_path, "events_raw.csv", csv_text(COLUMNS["events"], rows))

    result = run(tmp_path, "events")

    assert result.stats.malformed == 0
    assert result.stats.total == 4
    sessions = {k: v["session_id"] for k, v in by_key(result.clean, "event_id").items()}
    assert sessions == {"E1": "multi\nline", "E2": 'say "hi", twice', "E3": "a\r\nb", "E4": "S1"}


def test_valid_multiline_record_after_an_unbalanced_quote_survives(tmp_path):
    """One unbalanced quote must cost one line: a well-quoted multi-line record later in
    the file is still one record (not two malformed half-lines), and `total` counts it once."""
    broken = 'E2,C1,2025-12-10 10:00:00,page_view,web,"S2,1000,' + D
    multi = 'E4,C1,2025-12-10 10:00:00,page_view,web,"multi\nline",1000,' + D
    body = [line("events", "E1"), broken, line("events", "E3"), multi, line("events", "E5")]
    put(tmp_path, "events_raw.csv", lines_file("events", body))

    result = run(tmp_path, "events")

    assert malformed(result) == [(3, "events_raw.csv", broken)]
    assert clean_ids(result) == ["E1", "E3", "E4", "E5"]
    assert by_key(result.clean, "event_id")["E4"]["session_id"] == "multi\nline"
    assert result.stats.total == 5


@pytest.mark.parametrize("entity", ["events", "orders"])
def test_bare_carriage_return_ends_a_line(tmp_path, entity):
    """A bare CR (old Mac line end, copy-paste residue) outside quotes ends a physical line,
    as LF and CRLF do: the two halves of the broken line are malformed on their own, and
    the rest of the file is read as usual (it must not fail the whole entity-day)."""
    first = line(entity, "K1")
    broken = line(entity, "K2").replace(",C1,", ",C1\rX,", 1)
    put(tmp_path, f"{entity}_raw.csv", lines_file(entity, [first, broken, line(entity, "K3")]))

    result = run(tmp_path, entity)

    head, tail = broken.split("\r")
    assert malformed(result) == [(3, f"{entity}_raw.csv", head), (4, f"{entity}_raw.csv", tail)]
    assert result.stats.total == 4
    assert clean_ids(result) == ["K1", "K3"]


# ----------------------------------------------------------------------------- schema drift


@pytest.mark.parametrize("dropped", ["event_type", "event_id", "event_time"])
def test_required_column_missing_quarantines_every_row(tmp_path, dropped):
    header = [c for c in COLUMNS["events"] if c != dropped]
    # distinct sessions: without event_id the rows must not collapse into full-row duplicates
    rows = [good("events", f"E{i}", session_id=f"S{i}") for i in range(1, 4)] + [good("events", "E9", event_type="teleport")]
    put(tmp_path, "events_raw.csv", csv_text(header, rows))

    result = run(tmp_path, "events")

    assert result.clean.num_rows == 0
    assert result.quarantine.num_rows == 4
    assert (result.stats.missing_columns, result.stats.extra_columns) == ([dropped], [])
    for reason in result.quarantine.column("reject_reason").to_pylist():
        codes = reason.split("|")
        assert codes[0] == f"missing_column:{dropped}"
    assert result.stats.by_reason[f"missing_column:{dropped}"] == 4
    # the missing column is null in quarantine, the others keep their raw text
    assert set(result.quarantine.column(dropped).to_pylist()) == {None}
    if dropped != "event_id":
        assert sorted(result.quarantine.column("event_id").to_pylist()) == ["E1", "E2", "E3", "E9"]


@pytest.mark.parametrize("dropped", ["platform", "session_id", "duration_ms", "ingest_date"])
def test_optional_column_missing_keeps_rows_clean_and_reports_drift(tmp_path, dropped):
    """Over-rejecting is a defect: an absent optional column is missing values (warn), not bad rows."""
    header = [c for c in COLUMNS["events"] if c != dropped]
    rows = [good("events", f"E{i}", session_id=f"S{i}") for i in range(1, 4)]
    put(tmp_path, "events_raw.csv", csv_text(header, rows))

    result = run(tmp_path, "events")

    assert result.clean.num_rows == 3
    assert result.quarantine.num_rows == 0
    assert (result.stats.missing_columns, result.stats.extra_columns) == ([dropped], [])
    warn = {"platform": "missing_platform", "session_id": "missing_session_id", "duration_ms": "missing_duration"}
    if dropped in warn:
        assert result.stats.by_warning[warn[dropped]] == 3


def test_extra_column_not_in_clean_but_packed_in_quarantine(tmp_path):
    header = COLUMNS["events"][:3] + ["UTM_Source "] + COLUMNS["events"][3:]
    rows = [
        good("events", "E1") | {"UTM_Source ": "newsletter"},
        good("events", "E2", event_type="teleport") | {"UTM_Source ": 'a "quoted", value'},
    ]
    put(tmp_path, "events_raw.csv", csv_text(header, rows))

    result = run(tmp_path, "events")

    assert clean_ids(result) == ["E1"]
    assert "utm_source" not in result.clean.column_names
    assert "newsletter" not in json.dumps(result.clean.to_pylist(), default=str)
    assert (result.stats.missing_columns, result.stats.extra_columns) == ([], ["utm_source"])
    [row] = result.quarantine.to_pylist()
    assert row["reject_reason"] == "invalid_event_type"
    assert json.loads(row["extra_columns"]) == {"utm_source": 'a "quoted", value'}


def test_shuffled_header_with_case_and_whitespace_gives_same_output(tmp_path):
    rows = [
        good("events", "E1"),
        good("events", "E2", platform="iPhone", duration_ms=""),
        good("events", "E3", event_time="bad-ts"),
        good("events", "E1", session_id="S9"),
    ]
    canonical = COLUMNS["events"]
    shuffled = ["duration_ms", "Session_ID", " event_id ", "INGEST_DATE", "customer_id\t", "Event_Type", "  platform", "EVENT_TIME"]
    mapping = dict(zip(shuffled, ["duration_ms", "session_id", "event_id", "ingest_date", "customer_id", "event_type", "platform", "event_time"]))
    put(tmp_path / "a", "events_raw.csv", csv_text(canonical, rows))
    put(tmp_path / "b", "events_raw.csv", csv_text(shuffled, [{h: r[mapping[h]] for h in shuffled} for r in rows]))

    first, second = run(tmp_path / "a", "events"), run(tmp_path / "b", "events")

    assert (second.stats.missing_columns, second.stats.extra_columns) == ([], [])
    assert second.clean.equals(first.clean)
    assert second.quarantine.equals(first.quarantine)
    assert {k: getattr(second.stats, k) for k in ("total", "clean", "quarantine", "by_reason")} == {
        k: getattr(first.stats, k) for k in ("total", "clean", "quarantine", "by_reason")
    }


# ----------------------------------------------------------------------------- empty, absent, header only


@pytest.mark.parametrize(
    "content",
    [b"", b"\n", (",".join(COLUMNS["orders"]) + "\n").encode(), (",".join(COLUMNS["orders"]) + "\r\n\r\n\n").encode()],
    ids=["zero-byte", "just-newline", "header-only", "header-and-blank-lines"],
)
def test_empty_files_are_a_present_feed_with_zero_rows(tmp_path, content):
    put(tmp_path, "orders_raw.csv", content)
    result = run(tmp_path, "orders")
    assert result.stats.feed_present is True
    assert result.stats.files == ["orders_raw.csv"]
    assert result.stats.total == result.stats.clean == result.stats.quarantine == 0


def test_absent_feed_and_absent_day_folder(tmp_path):
    put(tmp_path, "events_raw.csv", lines_file("events", [line("events", "E1")]))
    orders = run(tmp_path, "orders")
    assert orders.stats.feed_present is False and orders.stats.files == []
    assert orders.stats.total == 0
    nothing = run(tmp_path / "elsewhere", "events")
    assert nothing.stats.feed_present is False and nothing.stats.total == 0


def test_files_that_do_not_match_the_feed_pattern_are_ignored(tmp_path):
    put(tmp_path, "events_raw.csv", lines_file("events", [line("events", "E1")]))
    put(tmp_path, "events_raw.csv.bak", lines_file("events", [line("events", "E2")]))
    put(tmp_path, "README.txt", "not data\n")
    (day_dir(tmp_path) / "events_raw_dir.csv").mkdir()  # a folder with a feed-like name
    result = run(tmp_path, "events")
    assert result.stats.files == ["events_raw.csv"]
    assert clean_ids(result) == ["E1"]


def test_corrupt_gzip_is_a_clear_input_error(tmp_path):
    data = gzip.compress(lines_file("events", [line("events", f"E{i}") for i in range(50)]))
    put(tmp_path, "events_raw.csv.gz", data[: len(data) // 2])
    with pytest.raises(RawInputError, match="events_raw.csv.gz"):
        run_dir(tmp_path, ENTITIES["events"])


# ----------------------------------------------------------------------------- encodings and files


def test_bom_and_crlf_with_a_ragged_line(tmp_path):
    body = lines_file("events", [line("events", "E1"), "E2,C1,too,few", line("events", "E3")], eol="\r\n")
    put(tmp_path, "events_raw.csv", b"\xef\xbb\xbf" + body)

    result = run(tmp_path, "events")

    assert (result.stats.missing_columns, result.stats.extra_columns) == ([], [])
    assert clean_ids(result) == ["E1", "E3"]
    assert malformed(result) == [(3, "events_raw.csv", "E2,C1,too,few")]  # no BOM, no \r kept
    assert by_key(result.clean, "event_id")["E3"]["session_id"] == "S1"  # not "S1\r"


def test_latin1_byte_in_a_text_field_keeps_the_row(tmp_path):
    head = ",".join(COLUMNS["customers"]).encode()
    rows = [
        b"C1,c1@example.com,2025-12-01 10:00:00,US,active," + D.encode(),
        b"C2,caf\xe9@example.com,2025-12-01 10:00:00,Espa\xf1a,active," + D.encode(),
        b"C3,c3@example.com,2025-12-01 10:00:00,FR,active," + D.encode(),
    ]
    put(tmp_path, "customers_raw.csv", b"\n".join([head, *rows]) + b"\n")

    result = run(tmp_path, "customers")

    assert clean_ids(result) == ["C1", "C2", "C3"]
    c2 = by_key(result.clean, "customer_id")["C2"]
    assert c2["email"] == "café@example.com"
    assert c2["country"] == "ES"  # "España" decoded, then mapped
    assert result.stats.encoding_repaired_files == ["customers_raw.csv"]


def test_gzip_gives_the_same_output_as_plain(tmp_path):
    body = lines_file("events", [line("events", "E1"), "ragged,line", line("events", "E2", event_type="nope")])
    put(tmp_path / "plain", "events_raw.csv", body)
    put(tmp_path / "gz", "events_raw.csv.gz", gzip.compress(body))
    plain, packed = run(tmp_path / "plain", "events"), run(tmp_path / "gz", "events")
    assert packed.clean.equals(plain.clean)
    assert packed.quarantine.drop_columns(["source_file"]).equals(plain.quarantine.drop_columns(["source_file"]))
    assert packed.stats.files == ["events_raw.csv.gz"]
    assert packed.stats.total == 3


def test_several_files_for_one_entity_are_all_counted(tmp_path):
    put(tmp_path, "orders_raw.csv", lines_file("orders", [line("orders", "O1"), line("orders", "O2")]))
    second = lines_file("orders", [line("orders", "O3"), line("orders", "O1", amount="12.00"), "O4,oops"], eol="\r\n")
    put(tmp_path, "orders_raw_late.csv.gz", gzip.compress(b"\xef\xbb\xbf" + second))

    result = run(tmp_path, "orders")

    assert result.stats.files == ["orders_raw.csv", "orders_raw_late.csv.gz"]
    assert result.stats.total == 5
    assert clean_ids(result) == ["O1", "O2", "O3"]
    assert quarantine_reasons(result) == {"O1": "duplicate_order_id"}  # dedupe spans files
    assert malformed(result) == [(4, "orders_raw_late.csv.gz", "O4,oops")]


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "raw, expected_ms, reason",
    [
        ("1e308", None, "invalid_duration"),
        ("1e309", None, "invalid_duration"),  # overflows to inf as a float
        ("inf", None, "invalid_duration"),
        ("-inf", None, "invalid_duration"),
        ("Infinity", None, "invalid_duration"),
        ("99999999999999999999", None, "invalid_duration"),
        ("-1", None, "invalid_duration"),
        ("NaN", None, None),  # a null marker: missing (warn), not invalid
        ("1.2e5", 120000, None),
        (" 250 ", 250, None),
    ],
)
def test_duration_extremes(tmp_path, raw, expected_ms, reason):
    put(tmp_path, "events_raw.csv", csv_text(COLUMNS["events"], [good("events", "E1", duration_ms=raw)]))
    result = run(tmp_path, "events")
    if reason:
        assert quarantine_reasons(result) == {"E1": reason}
        assert result.quarantine.column("duration_ms").to_pylist() == [raw]  # raw text kept
    else:
        [row] = result.clean.to_pylist()
        assert row["duration_ms"] == expected_ms
        if expected_ms is None:
            assert row["warn_reason"] == "missing_duration"


@pytest.mark.parametrize(
    "raw, currency, expected",
    [
        ("$1,234.50", "USD", Decimal("1234.50")),
        (" 1,234.50 ", "USD", Decimal("1234.50")),
        ("€2,000", "EUR", Decimal("2000.00")),
        ("1,000,000.00", "USD", Decimal("1000000.00")),
        ("9999999999999999.99", "USD", Decimal("9999999999999999.99")),
        ("99999999999999999999", "USD", None),
        ("1e308", "USD", None),
        ("NaN", "USD", None),
        ("inf", "USD", None),
        ("-inf", "USD", None),
        ("12,34,5.6.7", "USD", None),
    ],
)
def test_amount_extremes_and_formatting(tmp_path, raw, currency, expected):
    put(tmp_path, "orders_raw.csv", csv_text(COLUMNS["orders"], [good("orders", "O1", amount=raw, currency=currency)]))
    result = run(tmp_path, "orders")
    if expected is None:
        assert quarantine_reasons(result) == {"O1": "invalid_amount"}
        assert result.quarantine.column("amount").to_pylist() == [raw]
    else:
        assert result.clean.column("amount").to_pylist() == [expected]


@pytest.mark.parametrize("raw", ["1.234,50", "12,5"])
def test_decimal_comma_amount_is_not_silently_changed(tmp_path, raw):
    """A European-formatted amount must not become a different number in clean
    (1.234,50 is not 1.23, 12,5 is not 125): either parsed right or quarantined."""
    put(tmp_path, "orders_raw.csv", csv_text(COLUMNS["orders"], [good("orders", "O1", amount=raw, currency="EUR")]))
    result = run(tmp_path, "orders")
    right = {"1.234,50": Decimal("1234.50"), "12,5": Decimal("12.50")}[raw]
    amounts = result.clean.column("amount").to_pylist()
    assert amounts in ([], [right]), f"{raw!r} became {amounts}"


def test_whitespace_padded_ids_are_the_same_id(tmp_path):
    rows = [
        good("events", "E1", session_id="S1"),
        good("events", "  E1 ", session_id=""),  # same id after trimming, worse record
        good("events", "E2"),
        good("events", "E2 "),  # full-row duplicate after trimming
        good("events", "E3", customer_id="  C2  "),  # padded customer id still in the master
    ]
    put(tmp_path, "events_raw.csv", csv_text(COLUMNS["events"], rows))

    result = run(tmp_path, "events")

    assert clean_ids(result) == ["E1", "E2", "E3"]
    assert by_key(result.clean, "event_id")["E1"]["session_id"] == "S1"
    assert by_key(result.clean, "event_id")["E3"]["customer_id"] == "C2"
    assert quarantine_reasons(result) == {"  E1 ": "duplicate_event_id"}
    assert result.stats.dropped_duplicates == 1
    assert (result.stats.dropped_duplicates, result.stats.id_duplicates) == (1, 1)


def test_ids_differing_only_in_case_are_distinct(tmp_path):
    rows = [good("orders", "o1"), good("orders", "O1"), good("orders", "O2", customer_id="c1")]
    put(tmp_path, "orders_raw.csv", csv_text(COLUMNS["orders"], rows))
    result = run(tmp_path, "orders")
    assert sorted(clean_ids(result)) == ["O1", "o1"]
    assert quarantine_reasons(result) == {"O2": "orphan_customer_id"}  # "c1" is not "C1"
    assert (result.stats.dropped_duplicates, result.stats.id_duplicates) == (0, 0)


@pytest.mark.parametrize("entity", ["customers", "events", "orders"])
@pytest.mark.parametrize("raw", ["1900-01-01 00:00:00", "2999-12-31 23:59:59", "0001-01-01", "9999-12-31T00:00:00Z"])
def test_far_past_and_future_dates_are_invalid_times(tmp_path, entity, raw):
    column = ENTITIES[entity].time_column
    key = {"customers": "C1", "events": "E1", "orders": "O1"}[entity]
    put(tmp_path, f"{entity}_raw.csv", csv_text(COLUMNS[entity], [good(entity, key, **{column: raw})]))
    result = run(tmp_path, entity)
    assert quarantine_reasons(result) == {key: f"invalid_{column}"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2025-12-10T14:41:42Z", datetime(2025, 12, 10, 14, 41, 42, tzinfo=UTC)),
        ("2025-12-10T14:41:42.5Z", datetime(2025, 12, 10, 14, 41, 42, 500000, tzinfo=UTC)),
        ("2025-12-10 14:41:42.123456", datetime(2025, 12, 10, 14, 41, 42, 123456, tzinfo=UTC)),
        ("2025-12-10T04:21:24-05:00", datetime(2025, 12, 10, 9, 21, 24, tzinfo=UTC)),
        ("2025-12-10T20:11:42.250+05:30", datetime(2025, 12, 10, 14, 41, 42, 250000, tzinfo=UTC)),
        (str(int(datetime(2025, 12, 10, 14, 41, 42, 123000, tzinfo=UTC).timestamp() * 1000)), datetime(2025, 12, 10, 14, 41, 42, 123000, tzinfo=UTC)),
        (str(int(datetime(2025, 12, 10, 14, 41, 42, tzinfo=UTC).timestamp())), datetime(2025, 12, 10, 14, 41, 42, tzinfo=UTC)),
    ],
    ids=["Z", "Z-fraction", "naive-fraction", "offset", "offset-fraction", "epoch-ms", "epoch-s"],
)
def test_timestamp_layouts_are_valid(tmp_path, raw, expected):
    put(tmp_path, "events_raw.csv", csv_text(COLUMNS["events"], [good("events", "E1", event_time=raw)]))
    result = run(tmp_path, "events")
    assert result.clean.column("event_time_utc").to_pylist() == [expected]


# ----------------------------------------------------------------------------- the whole Dagster chain


def _report(settings, name: str) -> dict:
    return json.loads((Path(settings.reports_dir) / f"ingest_date={D}" / name).read_text(encoding="utf-8"))


def _part(root: str, *parts: str) -> Path:
    return Path(root).joinpath(*parts, f"ingest_date={D}", "part-0.parquet")


def _assert_reports_match_files(settings) -> dict:
    """Conservation in the report for every entity, and the report's counts are the files' counts."""
    report = _report(settings, "validation_report.json")
    for entity in ENTITIES:
        section = report[entity]
        assert_conserved(section)
        assert section["clean"] == pq.read_metadata(_part(settings.out_dir, "clean", entity)).num_rows
        assert section["quarantine"] == pq.read_metadata(_part(settings.out_dir, "quarantine", entity)).num_rows
    return report


def _check(result, asset: str, name: str):
    [evaluation] = [
        e for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == asset and e.check_name == name
    ]
    return evaluation


def _daily_metrics(settings) -> dict:
    [row] = pq.read_table(_part(settings.out_dir, "metrics", "daily_metrics")).to_pylist()
    return row


def test_chain_extra_column_ragged_line_and_missing_orders_feed(paths, instance):
    raw = Path(paths.raw_dir)
    customers = [good("customers", c) for c in MASTER]
    put(raw, "customers_raw.csv", csv_text(COLUMNS["customers"], customers))
    header = COLUMNS["events"] + ["utm_source"]
    rows = [good("events", "E1") | {"utm_source": "mail"}, good("events", "E2", customer_id="C404") | {"utm_source": "ads"}]
    text = csv_text(header, rows) + "E3,C1,2025-12-10 10:00:00,page_view\n"
    put(raw, "events_raw.csv", text)  # no orders file at all

    result = materialize_day(paths, D, instance)

    assert result.success
    drift = _check(result, "clean_events", checks.SCHEMA_DRIFT_CHECK)
    assert drift.passed is False and drift.severity.value == "WARN"
    assert drift.metadata["extra_columns"].value == ["utm_source"]
    assert _check(result, "clean_customers", checks.SCHEMA_DRIFT_CHECK).passed is True
    assert _check(result, "alerts", checks.MISSING_FEED_CHECK).passed is False

    report = _assert_reports_match_files(paths)
    assert report["events"]["schema"] == {"missing_columns": [], "extra_columns": ["utm_source"], "unmatched_headers": {}}
    assert (report["events"]["total"], report["events"]["clean"], report["events"]["malformed"]) == (3, 1, 1)
    assert report["events"]["by_reason"] == {"malformed_row": 1, "orphan_customer_id": 1}
    assert report["orders"]["feed_present"] is False and report["orders"]["files"] == []
    assert report["events"]["files"] == ["events_raw.csv"]

    clean = pq.read_table(_part(paths.out_dir, "clean", "events"))
    assert clean.column("event_id").to_pylist() == ["E1"] and "utm_source" not in clean.column_names
    quarantine = {r["source_line"]: r for r in pq.read_table(_part(paths.out_dir, "quarantine", "events")).to_pylist()}
    assert json.loads(quarantine[3]["extra_columns"]) == {"utm_source": "ads"}
    assert quarantine[4]["reject_reason"] == "malformed_row"
    assert quarantine[4]["raw_text"] == "E3,C1,2025-12-10 10:00:00,page_view"

    alerts = _report(paths, "alerts.json")
    missing = [a for a in alerts["alerts"] if a["type"] == "missing_feed"]
    assert [a["details"]["entity"] for a in missing] == ["orders"]
    drift_alerts = [a for a in alerts["alerts"] if a["type"] == "schema_drift"]
    assert [a["details"]["extra_columns"] for a in drift_alerts] == [["utm_source"]]

    metrics = _daily_metrics(paths)
    assert (metrics["orders_feed_present"], metrics["orders_total"], metrics["orders_clean"]) == (False, 0, 0)
    assert (metrics["events_total"], metrics["events_clean"], metrics["events_malformed"]) == (3, 1, 1)


def test_chain_day_folder_without_any_file(paths, instance):
    day_dir(Path(paths.raw_dir)).mkdir(parents=True)

    result = materialize_day(paths, D, instance)

    assert result.success
    report = _assert_reports_match_files(paths)
    for entity in ENTITIES:
        assert report[entity]["feed_present"] is False
        assert report[entity]["total"] == 0 and report[entity]["files"] == []
    alerts = _report(paths, "alerts.json")
    missing = sorted(a["details"]["entity"] for a in alerts["alerts"] if a["type"] == "missing_feed")
    assert missing == ["customers", "events", "orders"]
    skipped = {s["type"] for s in alerts["skipped"]}
    assert {"hourly_coverage", "volume_drop"} <= skipped  # they need the events feed
    assert not [a for a in alerts["alerts"] if a["type"] == "hourly_coverage"]  # no false partial-load alarm

    metrics = _daily_metrics(paths)
    for entity in ENTITIES:
        assert metrics[f"{entity}_feed_present"] is False
        assert metrics[f"{entity}_total"] == metrics[f"{entity}_clean"] == metrics[f"{entity}_quarantine"] == 0
    hourly = pq.read_table(_part(paths.out_dir, "metrics", "hourly_events")).to_pandas()
    assert len(hourly) == 24 and hourly["event_count"].sum() == 0
    # readers of the datasets get empty, typed tables
    assert len(pd.read_parquet(Path(paths.out_dir) / "clean" / "events")) == 0


def test_chain_zero_byte_events_and_orders_without_a_required_column(paths, instance):
    raw = Path(paths.raw_dir)
    body = csv_text(COLUMNS["customers"], [good("customers", c) for c in MASTER], eol="\r\n")
    put(raw, "customers_raw.csv", b"\xef\xbb\xbf" + body.encode())
    put(raw, "events_raw.csv", b"")
    header = [c for c in COLUMNS["orders"] if c != "currency"]
    put(raw, "orders_raw.csv", csv_text(header, [good("orders", "O1"), good("orders", "O2")]))

    result = materialize_day(paths, D, instance)

    assert result.success
    report = _assert_reports_match_files(paths)
    assert (report["customers"]["clean"], report["customers"]["quarantine"]) == (3, 0)  # BOM + CRLF header matched
    assert report["events"]["feed_present"] is True and report["events"]["total"] == 0
    assert report["events"]["files"] == ["events_raw.csv"]
    assert report["orders"]["schema"]["missing_columns"] == ["currency"]
    assert (report["orders"]["clean"], report["orders"]["quarantine"]) == (0, 2)
    assert report["orders"]["by_reason"].get("missing_column:currency") == 2
    quarantine = pq.read_table(_part(paths.out_dir, "quarantine", "orders")).to_pylist()
    assert all(r["reject_reason"].split("|")[0] == "missing_column:currency" for r in quarantine)
    assert _check(result, "clean_orders", checks.SCHEMA_DRIFT_CHECK).passed is False

    alerts = _report(paths, "alerts.json")
    assert not [a for a in alerts["alerts"] if a["type"] == "missing_feed"]  # every feed arrived
    metrics = _daily_metrics(paths)
    assert metrics["events_feed_present"] is True and metrics["events_total"] == 0
    assert (metrics["orders_total"], metrics["orders_clean"], metrics["orders_quarantine"]) == (2, 0, 2)


# ----------------------------------------------------------------------------- CLI misuse


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODQ_")}
    env["DAGSTER_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "prodq_dagster", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _today_utc() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def raw_day(tmp_path) -> Path:
    raw = tmp_path / "raw"
    put(raw, "customers_raw.csv", csv_text(COLUMNS["customers"], [good("customers", c) for c in MASTER]))
    put(raw, "events_raw.csv", csv_text(COLUMNS["events"], [good("events", "E1"), good("events", "E2", event_type="x")]))
    put(raw, "orders_raw.csv", csv_text(COLUMNS["orders"], [good("orders", "O1")]))
    return raw


MISUSE = {
    "data-dir-missing": lambda t, raw: ["--data_dir", str(t / "nope"), "--date", D],
    "data-dir-is-a-file": lambda t, raw: ["--data_dir", str(raw / f"ingest_date={D}" / "orders_raw.csv"), "--date", D],
    "date-not-a-date": lambda t, raw: ["--data_dir", str(raw), "--date", "yesterday"],
    "date-impossible": lambda t, raw: ["--data_dir", str(raw), "--date", "2025-02-30"],
    "date-wrong-layout": lambda t, raw: ["--data_dir", str(raw), "--date", "10/12/2025"],
    "future-date": lambda t, raw: ["--data_dir", str(raw), "--date", (_today_utc() + timedelta(days=2)).isoformat()],
    "range-ends-in-future": lambda t, raw: ["--data_dir", str(raw), "--start", D, "--end", (_today_utc() + timedelta(days=2)).isoformat()],
    "start-after-end": lambda t, raw: ["--data_dir", str(raw), "--start", "2025-12-12", "--end", "2025-12-10"],
    "range-without-day-folder": lambda t, raw: ["--data_dir", str(raw), "--start", "2025-11-01", "--end", "2025-11-03"],
    "date-and-range": lambda t, raw: ["--data_dir", str(raw), "--date", D, "--start", D, "--end", D],
    "no-date": lambda t, raw: ["--data_dir", str(raw)],
    # The forked pool is gone (a range runs day after day): --workers is an unknown flag now.
    "unknown-flag": lambda t, raw: ["--data_dir", str(raw), "--date", D, "--workers", "2"],
}


@pytest.mark.parametrize("case", list(MISUSE) + ["out-dir-under-a-file", "reports-dir-under-a-file"])
def test_cli_misuse_exits_2_with_one_line_and_writes_nothing(tmp_path, raw_day, case):
    out = tmp_path / "out"
    extra = ["--out_dir", str(out)]
    if case == "out-dir-under-a-file":
        blocker = tmp_path / "a_file"
        blocker.write_text("I am a file\n")
        out = blocker / "out"
        extra = ["--out_dir", str(out), "--date", D, "--data_dir", str(raw_day)]
    elif case == "reports-dir-under-a-file":
        blocker = tmp_path / "a_file"
        blocker.write_text("I am a file\n")
        extra += ["--reports_dir", str(blocker / "reports"), "--date", D, "--data_dir", str(raw_day)]
    args = extra if case.endswith("under-a-file") else MISUSE[case](tmp_path, raw_day) + extra

    done = _cli(tmp_path, *args)

    assert done.returncode == 2, (done.stdout, done.stderr)
    err_lines = done.stderr.splitlines()
    assert len(err_lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert err_lines[0].startswith("prodq: error:")
    written = [p for p in out.rglob("*")] if out.is_dir() else []
    assert written == [], written
    assert not (tmp_path / "reports").exists()


def test_cli_range_with_some_days_missing_runs_the_others(tmp_path, raw_day):
    out, reports = tmp_path / "out", tmp_path / "reports"
    done = _cli(tmp_path, "--data_dir", str(raw_day), "--out_dir", str(out), "--reports_dir", str(reports), "--start", "2025-12-09", "--end", "2025-12-11")

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    said = done.stdout + done.stderr
    assert "2025-12-09" in said and "2025-12-11" in said
    missing_lines = [ln for ln in said.splitlines() if "2025-12-09" in ln or "2025-12-11" in ln]
    assert all("missing" in ln or "no raw folder" in ln for ln in missing_lines), missing_lines
    assert sorted(p.name for p in (out / "clean" / "events").iterdir()) == [f"ingest_date={D}"]
    # (hidden names such as .staging/ are the store's own, not reports)
    assert sorted(p.name for p in reports.iterdir() if not p.name.startswith(".")) == ["index.html", f"ingest_date={D}"]
    assert [p for p in reports.rglob("*") if p.is_file() and p.parent.name.startswith(".")] == []
    report = json.loads((reports / f"ingest_date={D}" / "validation_report.json").read_text())
    for entity in ENTITIES:
        assert_conserved(report[entity])
    assert (report["events"]["clean"], report["events"]["quarantine"]) == (1, 1)
