"""Dedupe (full-row and id), determinism under shuffled input, and conservation of rows."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from prodq_dagster_tests.test_core_support import (
    CUSTOMERS,
    D,
    EVENTS,
    ORDERS,
    conserved,
    good_customer,
    good_event,
    good_order,
    rows_by,
    run_dir,
    run_rows,
    write_bytes,
    write_csv,
)

# ---------------------------------------------------------------------------- full-row duplicates


def test_full_row_duplicates_dropped_and_counted_not_quarantined(tmp_path):
    e1 = good_event("E1")
    padded = {k: f"  {v} " for k, v in e1.items()}  # differs only by surrounding whitespace
    rows = [e1, dict(e1), padded, good_event("E2")]
    result = run_rows(tmp_path, EVENTS, rows)
    assert result.stats.dropped_duplicates == 2
    assert (result.stats.dropped_duplicates, result.stats.id_duplicates) == (2, 0)
    assert result.quarantine.num_rows == 0
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2"]
    assert result.stats.total == 4
    assert conserved(result.stats)


@pytest.mark.parametrize("entity,make", [(CUSTOMERS, good_customer), (ORDERS, good_order)], ids=["customers", "orders"])
def test_full_row_duplicates_other_entities(tmp_path, entity, make):
    row = make("C1" if entity is CUSTOMERS else "O1")
    result = run_rows(tmp_path, entity, [row, row, row])
    assert result.stats.dropped_duplicates == 2
    assert result.clean.num_rows == 1
    assert result.quarantine.num_rows == 0


def test_full_row_duplicate_of_rejected_row_dropped_once(tmp_path):
    bad = good_event("E1", event_type="teleport")
    result = run_rows(tmp_path, EVENTS, [bad, bad])
    assert result.stats.dropped_duplicates == 1
    assert result.quarantine.column("reject_reason").to_pylist() == ["invalid_event_type"]
    assert conserved(result.stats)


# ---------------------------------------------------------------------------- id duplicates


@pytest.mark.parametrize("loser_first", [True, False])
def test_events_copy_with_session_wins(tmp_path, loser_first):
    with_session = good_event("E1", session_id="S9")
    without = good_event("E1", session_id="", duration_ms="5")
    rows = [without, with_session] if loser_first else [with_session, without]
    result = run_rows(tmp_path, EVENTS, rows)
    assert result.clean.column("session_id").to_pylist() == ["S9"]
    q = result.quarantine.to_pylist()
    assert [r["reject_reason"] for r in q] == ["duplicate_event_id"]
    assert q[0]["session_id"] == "" and q[0]["duration_ms"] == "5"


@pytest.mark.parametrize("loser_first", [True, False])
def test_events_platform_outranks_session(tmp_path, loser_first):
    # ranking is lexicographic: platform comes before session_id
    has_platform = good_event("E1", session_id="", platform="ios")
    has_session = good_event("E1", session_id="S1", platform="")
    rows = [has_session, has_platform] if loser_first else [has_platform, has_session]
    result = run_rows(tmp_path, EVENTS, rows)
    clean = result.clean.to_pylist()[0]
    assert clean["platform"] == "ios" and clean["session_id"] is None


@pytest.mark.parametrize("loser_first", [True, False])
def test_events_latest_event_time_wins_when_otherwise_equal(tmp_path, loser_first):
    early = good_event("E1", event_time="2025-12-10 08:00:00")
    late = good_event("E1", event_time="2025-12-10T05:00:00-05:00")  # 10:00 UTC, later instant
    rows = [early, late] if loser_first else [late, early]
    result = run_rows(tmp_path, EVENTS, rows)
    assert [t.hour for t in result.clean.column("event_time_utc").to_pylist()] == [10]


@pytest.mark.parametrize("loser_first", [True, False])
def test_customers_valid_email_wins(tmp_path, loser_first):
    valid = good_customer("C1", email="ann@example.com", created_at="2025-01-01 00:00:00")
    invalid = good_customer("C1", email="ann-at-example", created_at="2025-12-01 00:00:00")  # later, but bad email
    rows = [invalid, valid] if loser_first else [valid, invalid]
    result = run_rows(tmp_path, CUSTOMERS, rows)
    clean = result.clean.to_pylist()[0]
    assert clean["email"] == "ann@example.com" and clean["email_valid"] is True
    assert result.quarantine.column("email").to_pylist() == ["ann-at-example"]
    assert result.quarantine.column("reject_reason").to_pylist() == ["duplicate_customer_id"]


@pytest.mark.parametrize("loser_first", [True, False])
def test_customers_latest_created_at_wins(tmp_path, loser_first):
    old = good_customer("C1", created_at="2025-01-01 00:00:00", country="FR")
    new = good_customer("C1", created_at="2025-06-01 00:00:00", country="DE")
    rows = [old, new] if loser_first else [new, old]
    result = run_rows(tmp_path, CUSTOMERS, rows)
    assert result.clean.column("country").to_pylist() == ["DE"]


@pytest.mark.parametrize("loser_first", [True, False])
def test_orders_latest_order_time_wins(tmp_path, loser_first):
    early = good_order("O1", order_time="2025-12-10 09:00:00", amount="1.00")
    late = good_order("O1", order_time="2025-12-10 18:00:00", amount="2.00")
    rows = [late, early] if not loser_first else [early, late]
    result = run_rows(tmp_path, ORDERS, rows)
    assert [str(a) for a in result.clean.column("amount").to_pylist()] == ["2.00"]
    assert result.quarantine.column("amount").to_pylist() == ["1.00"]


@pytest.mark.parametrize("loser_first", [True, False])
def test_row_without_reject_beats_row_with_reject(tmp_path, loser_first):
    # the rejected copy is better on every ranked attribute (session, later time) but has a reject code
    clean_copy = good_event("E1", session_id="", event_time="2025-12-10 01:00:00")
    rejected_copy = good_event("E1", session_id="S1", event_time="2025-12-10 23:00:00", ingest_date="2099-01-01")
    rows = [rejected_copy, clean_copy] if loser_first else [clean_copy, rejected_copy]
    result = run_rows(tmp_path, EVENTS, rows)
    assert result.clean.column("session_id").to_pylist() == [None]
    assert result.quarantine.column("reject_reason").to_pylist() == ["ingest_date_mismatch|duplicate_event_id"]


def test_orders_no_reject_beats_later_rejected(tmp_path):
    ok = good_order("O1", order_time="2025-12-10 01:00:00")
    later_bad = good_order("O1", order_time="2025-12-10 23:00:00", currency="XYZ")
    result = run_rows(tmp_path, ORDERS, [later_bad, ok])
    assert result.clean.column("currency").to_pylist() == ["USD"]
    assert result.quarantine.column("reject_reason").to_pylist() == ["invalid_currency|duplicate_order_id"]


def test_all_copies_rejected_still_one_winner_without_duplicate_code(tmp_path):
    a = good_event("E1", event_type="teleport")
    b = good_event("E1", event_type="teleport", session_id="S2")
    c = good_event("E1", event_type="teleport", session_id="S3")
    result = run_rows(tmp_path, EVENTS, [a, b, c])
    reasons = sorted(result.quarantine.column("reject_reason").to_pylist())
    assert reasons == ["invalid_event_type", "invalid_event_type|duplicate_event_id", "invalid_event_type|duplicate_event_id"]
    assert result.stats.id_duplicates == 2


def test_missing_ids_are_not_deduped_against_each_other(tmp_path):
    rows = [good_event("", session_id="S1"), good_event("N/A", session_id="S2"), good_event("null", session_id="S3")]
    result = run_rows(tmp_path, EVENTS, rows)
    assert result.quarantine.column("reject_reason").to_pylist() == ["missing_event_id"] * 3
    assert result.stats.id_duplicates == 0


# ---------------------------------------------------------------------------- determinism


def _messy_events() -> list[dict]:
    rows = []
    for i in range(25):
        rows.append(good_event(f"E{i:03d}", event_time=f"2025-12-10 {i % 24:02d}:15:00", customer_id=f"C{1 + i % 3}"))
    # id duplicates, including full ties on every ranked attribute (tiebreak by content hash)
    rows += [good_event("E001", session_id="", duration_ms="7"), good_event("E002", duration_ms="9")]
    rows += [good_event("E003", event_time="2025-12-10 03:15:00", duration_ms=str(d)) for d in (11, 12, 13)]
    rows += [good_event("E004", event_time="2025-12-10 04:15:00", session_id=s) for s in ("SA", "SB")]
    # rejected copies
    rows += [good_event("E005", platform="smartwatch"), good_event("E006", ingest_date="2099-01-01", session_id="")]
    # full-row duplicates, with whitespace variants
    dup = good_event("E010", event_time="2025-12-10 10:15:00", customer_id="C2")
    rows += [dict(dup), {k: f" {v}" for k, v in dup.items()}, {k: f"{v}  " for k, v in dup.items()}]
    # full-row duplicates (whitespace variants) of a rejected row: the kept raw text must not depend on order
    rej = good_event("E200", event_type="teleport")
    rows += [dict(rej), {k: f"{v} " for k, v in rej.items()}, {k: f"  {v}" for k, v in rej.items()}]
    # missing ids and assorted rejects
    rows += [good_event("", session_id=f"S{i}") for i in range(3)]
    rows += [good_event("N/A", event_type="teleport"), good_event("E100", event_time="bad-ts"), good_event("E101", customer_id="C999")]
    rows += [good_event("E102", duration_ms="-4"), good_event("E102", duration_ms="-5"), good_event("E103", session_id="")]
    return rows


def _drop_source(table: pa.Table) -> pa.Table:
    return table.drop_columns(["source_file", "source_line"])


@pytest.mark.parametrize(
    "entity,rows",
    [
        (EVENTS, _messy_events()),
        (
            ORDERS,
            [good_order(f"O{i}", amount=f"{i}.00", order_time=f"2025-12-10 {i:02d}:00:00") for i in range(1, 12)]
            + [good_order("O1", amount="3.00"), good_order("O2", amount="2.005"), good_order("O2", amount="2.00"),
               good_order("O3", currency="XYZ"), good_order("", status="pending"), good_order("", amount="x")],
        ),
        (
            CUSTOMERS,
            [good_customer(f"C{i}") for i in range(10)]
            + [good_customer("C1", email="bad"), good_customer("C2", country="FR"), good_customer("C2", country="DE"),
               good_customer("", email="x@y.z"), good_customer("C4", created_at="bad-ts")],
        ),
    ],
    ids=["events", "orders", "customers"],
)
def test_shuffled_input_gives_identical_output(tmp_path, entity, rows):
    results = []
    rng = random.Random(42)
    for k in range(5):
        perm = list(rows)
        if k:
            rng.shuffle(perm)
        results.append(run_rows(tmp_path / f"p{k}", entity, perm))
    base = results[0]
    assert base.stats.id_duplicates > 0
    for other in results[1:]:
        assert other.clean.equals(base.clean)
        assert _drop_source(other.quarantine).equals(_drop_source(base.quarantine))
        assert other.stats.by_reason == base.stats.by_reason
        assert other.stats.dropped_duplicates == base.stats.dropped_duplicates


def test_clean_output_sorted_by_primary_key(tmp_path):
    rows = [good_event(e) for e in ("E3", "E1", "E2")]
    result = run_rows(tmp_path, EVENTS, rows)
    assert result.clean.column("event_id").to_pylist() == ["E1", "E2", "E3"]


def test_shuffled_file_with_malformed_lines_gives_identical_quarantine(tmp_path):
    header = "event_id,customer_id,event_time,event_type,platform,session_id,duration_ms,ingest_date"
    lines = [f"E{i},C1,2025-12-10 0{i}:00:00,page_view,web,S{i},100,{D}" for i in range(1, 6)]
    lines += ["E90,C1,too,many,fields,here,1,2,3,4", "E91,C1,too few", "garbage line"]
    rng = random.Random(7)
    outs = []
    for k in range(4):
        perm = list(lines)
        if k:
            rng.shuffle(perm)
        write_bytes(tmp_path / f"p{k}", "events_raw.csv", ("\n".join([header] + perm) + "\n").encode())
        outs.append(run_dir(tmp_path / f"p{k}", EVENTS))
    for other in outs[1:]:
        assert other.clean.equals(outs[0].clean)
        assert _drop_source(other.quarantine).equals(_drop_source(outs[0].quarantine)), (
            other.quarantine.column("raw_text").to_pylist(), outs[0].quarantine.column("raw_text").to_pylist())


# ---------------------------------------------------------------------------- conservation


def test_conservation_on_messy_file_counts_malformed_lines(tmp_path):
    header = "event_id,customer_id,event_time,event_type,platform,session_id,duration_ms,ingest_date"
    good = f"E1,C1,2025-12-10 01:00:00,page_view,web,S1,100,{D}"
    lines = [
        header,
        good,
        good,  # full-row duplicate
        f" E1 ,C1,2025-12-10 01:00:00 ,page_view,web,S1,100,{D}",  # whitespace-only duplicate
        f"E1,C1,2025-12-10 01:00:00,page_view,web,,100,{D}",  # id duplicate, loses (no session)
        f"E2,C999,2025-12-10 02:00:00,PageView,iPhone,S2,1.2e5,{D}",  # orphan
        f"E3,C2,bad-ts,page_view,web,S3,100,{D}",  # invalid time
        "E4,C1,2025-12-10 03:00:00,page_view,web,S4,100",  # too few fields
        f"E5,C1,2025-12-10 03:00:00,page_view,web,S5,100,{D},extra",  # too many fields
        "",  # blank: not a record
        f',C1,2025-12-10 04:00:00,page_view,web,S6,100,{D}',  # missing id
        f'E7,C3,"2025-12-10 05:00:00",teleport,AND,S7,100,{D}',  # unknown event type
        f"E8,C3,2025-12-10 06:00:00,search,AND,,,{D}",  # clean with warns
    ]
    write_bytes(tmp_path, "events_raw.csv", ("\n".join(lines) + "\n").encode())
    result = run_dir(tmp_path, EVENTS)
    s = result.stats
    records = [line for line in lines[1:] if line]
    assert s.total == len(records) == 11
    assert s.malformed == 2
    assert s.dropped_duplicates == 2
    assert s.clean == result.clean.num_rows == 2  # E1, E8
    assert s.quarantine == result.quarantine.num_rows == 7
    assert s.total == s.clean + s.quarantine + s.dropped_duplicates
    assert s.by_reason["malformed_row"] == 2
    assert s.by_reason["duplicate_event_id"] == 1
    assert rows_by(result.clean, "event_id").keys() == {"E1", "E8"}


def test_duplicates_across_files_of_one_day(tmp_path):
    write_csv(tmp_path, D, "events", [good_event("E1"), good_event("E2")], name="events_raw_part1.csv")
    write_csv(tmp_path, D, "events", [good_event("E1"), good_event("E2", session_id="")], name="events_raw_part2.csv")
    result = run_dir(tmp_path, EVENTS)
    assert (result.stats.dropped_duplicates, result.stats.id_duplicates) == (1, 1)
    assert result.clean.column("session_id").to_pylist() == ["S1", "S1"]
    q = result.quarantine.to_pylist()
    assert [(r["event_id"], r["source_file"], r["reject_reason"]) for r in q] == [
        ("E2", "events_raw_part2.csv", "duplicate_event_id")
    ]
    assert conserved(result.stats)
