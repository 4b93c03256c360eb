"""Reject rules (docs/contract.md): each row breaks exactly one rule and carries exactly that code.

Plus multi-code ordering and over-rejection (warn-level gaps keep the row clean).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from prodq_dagster.core import rules
from prodq_dagster.core.rules import CATALOGUE, CODE_ORDER, Action
from prodq_dagster_tests.test_core_support import (
    CUSTOMERS,
    D,
    ENTITIES,
    EVENTS,
    GOOD,
    ORDERS,
    conserved,
    good_customer,
    good_event,
    good_order,
    rows_by,
    run_rows,
)

# (entity, overrides on a good row, expected reject_reason)
SINGLE_RULE_CASES = [
    # missing primary key, each entity
    ("customers", {"customer_id": ""}, "missing_customer_id"),
    ("customers", {"customer_id": "N/A"}, "missing_customer_id"),
    ("events", {"event_id": ""}, "missing_event_id"),
    ("events", {"event_id": "  null "}, "missing_event_id"),
    ("orders", {"order_id": ""}, "missing_order_id"),
    ("orders", {"order_id": "-"}, "missing_order_id"),
    # unparseable / missing timestamps
    ("customers", {"created_at": "bad-ts"}, "invalid_created_at"),
    ("customers", {"created_at": ""}, "invalid_created_at"),
    ("events", {"event_time": "bad-ts"}, "invalid_event_time"),
    ("events", {"event_time": "not a date"}, "invalid_event_time"),
    ("events", {"event_time": "2025-13-45 25:61:00"}, "invalid_event_time"),
    ("events", {"event_time": "2999-12-10 10:00:00"}, "invalid_event_time"),
    ("events", {"event_time": ""}, "invalid_event_time"),
    ("orders", {"order_time": "bad-ts"}, "invalid_order_time"),
    ("orders", {"order_time": "not a date"}, "invalid_order_time"),
    # duration_ms
    ("events", {"duration_ms": "abc"}, "invalid_duration"),
    ("events", {"duration_ms": "12 seconds"}, "invalid_duration"),
    ("events", {"duration_ms": "-1"}, "invalid_duration"),
    ("events", {"duration_ms": "86400001"}, "invalid_duration"),
    ("events", {"duration_ms": "1e9"}, "invalid_duration"),
    ("events", {"duration_ms": "inf"}, "invalid_duration"),
    # orphans (missing customer_id counts as orphan)
    ("events", {"customer_id": "C999"}, "orphan_customer_id"),
    ("events", {"customer_id": ""}, "orphan_customer_id"),
    ("events", {"customer_id": "none"}, "orphan_customer_id"),
    ("orders", {"customer_id": "C999"}, "orphan_customer_id"),
    ("orders", {"customer_id": ""}, "orphan_customer_id"),
    # event_type
    ("events", {"event_type": ""}, "invalid_event_type"),
    ("events", {"event_type": "N/A"}, "invalid_event_type"),
    ("events", {"event_type": "teleport"}, "invalid_event_type"),
    # platform present but unknown
    ("events", {"platform": "smartwatch"}, "unknown_platform"),
    # currency
    ("orders", {"currency": ""}, "invalid_currency"),
    ("orders", {"currency": "XYZ"}, "invalid_currency"),
    # order status
    ("orders", {"status": ""}, "invalid_order_status"),
    ("orders", {"status": "pending"}, "invalid_order_status"),
    # amount
    ("orders", {"amount": ""}, "invalid_amount"),
    ("orders", {"amount": "abc"}, "invalid_amount"),
    ("orders", {"amount": "12.3.4"}, "invalid_amount"),
    ("orders", {"amount": "-5.00"}, "invalid_amount"),
    ("orders", {"amount": "-0.01", "status": "failed"}, "invalid_amount"),
    # amount inconsistent with status
    ("orders", {"amount": "0", "status": "paid"}, "amount_status_mismatch"),
    ("orders", {"amount": "0.00", "status": "refunded"}, "amount_status_mismatch"),
    ("orders", {"amount": "0", "status": "chargeback"}, "amount_status_mismatch"),
    ("orders", {"amount": "0.004", "status": "paid"}, "amount_status_mismatch"),  # rounds to 0.00
    # ingest_date present and different
    ("customers", {"ingest_date": "2099-01-01"}, "ingest_date_mismatch"),
    ("events", {"ingest_date": "2099-01-01"}, "ingest_date_mismatch"),
    ("events", {"ingest_date": "2025-12-11"}, "ingest_date_mismatch"),
    ("events", {"ingest_date": "10/12/2025"}, "ingest_date_mismatch"),
    ("orders", {"ingest_date": "2099-01-01"}, "ingest_date_mismatch"),
]


def _case_id(case) -> str:
    entity, over, code = case
    return f"{entity}-{code}-{'-'.join(f'{k}={v!r}' for k, v in over.items())}"


@pytest.mark.parametrize("entity_name,overrides,expected", SINGLE_RULE_CASES, ids=[_case_id(c) for c in SINGLE_RULE_CASES])
def test_row_breaking_one_rule_has_exactly_that_code(tmp_path, entity_name, overrides, expected):
    entity = ENTITIES[entity_name]
    pk = entity.primary_key
    make = GOOD[entity_name]
    good = make("C1" if entity_name == "customers" else "GOOD1")
    # a distinct id for the broken row unless the case blanks the id itself
    bad = make("C2" if entity_name == "customers" else "BAD1", **overrides)
    result = run_rows(tmp_path, entity, [good, bad])

    assert result.clean.column(pk).to_pylist() == [good[pk]]
    assert result.quarantine.num_rows == 1
    q = result.quarantine.to_pylist()[0]
    assert q["reject_reason"] == expected
    # raw text of every contract column kept as received
    for column in entity.columns:
        target = "ingest_date_raw" if column == "ingest_date" else column
        assert q[target] == bad[column]
    assert q["source_file"] == f"{entity.file_prefix}.csv"
    assert q["source_line"] == 3
    assert result.stats.by_reason == {expected: 1}
    assert conserved(result.stats)


@pytest.mark.parametrize("amount", ["0", "0.00"])
def test_failed_order_with_zero_amount_is_clean(tmp_path, amount):
    result = run_rows(tmp_path, ORDERS, [good_order("O1", status="failed", amount=amount)])
    assert result.quarantine.num_rows == 0
    row = result.clean.to_pylist()[0]
    assert row["status"] == "failed"
    assert row["amount"] == Decimal("0.00")


@pytest.mark.parametrize("duration", ["0", "86400000", "86400000.0"])
def test_duration_bounds_are_inclusive(tmp_path, duration):
    result = run_rows(tmp_path, EVENTS, [good_event("E1", duration_ms=duration)])
    assert result.quarantine.num_rows == 0
    assert result.clean.column("duration_ms").to_pylist() == [int(float(duration))]


@pytest.mark.parametrize("ingest", [f" {D} ", "", "   ", "N/A", "null", D])
@pytest.mark.parametrize("entity_name", ["customers", "events", "orders"])
def test_ingest_date_matching_padded_or_absent_is_fine(tmp_path, entity_name, ingest):
    entity = ENTITIES[entity_name]
    result = run_rows(tmp_path, entity, [GOOD[entity_name]("C1" if entity_name == "customers" else "X1", ingest_date=ingest)])
    assert result.quarantine.num_rows == 0, result.quarantine.column("reject_reason").to_pylist()
    assert result.clean.num_rows == 1


@pytest.mark.parametrize(
    "entity,rows,loser_over",
    [
        (CUSTOMERS, [good_customer("C1"), good_customer("C1", email="not-an-email")], {"email": "not-an-email"}),
        (EVENTS, [good_event("E1"), good_event("E1", session_id="")], {"session_id": ""}),
        (ORDERS, [good_order("O1", order_time="2025-12-10 12:00:00"), good_order("O1")], {"order_time": "2025-12-10 10:00:00"}),
    ],
    ids=["customers", "events", "orders"],
)
def test_duplicate_id_loser_has_only_duplicate_code(tmp_path, entity, rows, loser_over):
    result = run_rows(tmp_path, entity, rows)
    assert result.clean.num_rows == 1
    assert result.quarantine.num_rows == 1
    q = result.quarantine.to_pylist()[0]
    assert q["reject_reason"] == f"duplicate_{entity.primary_key}"
    for column, value in loser_over.items():
        assert q[column] == value
    assert (result.stats.dropped_duplicates, result.stats.id_duplicates) == (0, 1)
    assert result.stats.dropped_duplicates == 0


def test_three_broken_rules_listed_in_catalogue_order_events(tmp_path):
    # broken in this column order: ingest_date, platform, event_time -> catalogue order differs
    bad = good_event("E2", ingest_date="2099-01-01", platform="smartwatch", event_time="bad-ts")
    result = run_rows(tmp_path, EVENTS, [good_event("E1"), bad])
    reason = result.quarantine.column("reject_reason").to_pylist()
    assert reason == ["invalid_event_time|unknown_platform|ingest_date_mismatch"]
    codes = reason[0].split("|")
    assert codes == sorted(codes, key=CODE_ORDER.__getitem__)
    assert result.stats.by_reason == {c: 1 for c in codes}


def test_three_broken_rules_listed_in_catalogue_order_orders(tmp_path):
    bad = good_order("O2", currency="XYZ", amount="-3", customer_id="C999")
    result = run_rows(tmp_path, ORDERS, [good_order("O1"), bad])
    assert result.quarantine.column("reject_reason").to_pylist() == ["orphan_customer_id|invalid_amount|invalid_currency"]


def test_duplicate_loser_keeps_own_reasons_with_duplicate_last(tmp_path):
    winner = good_event("E1", session_id="")  # warn only
    loser = good_event("E1", platform="smartwatch", ingest_date="2099-01-01")  # two rejects
    result = run_rows(tmp_path, EVENTS, [loser, winner])
    assert result.clean.column("session_id").to_pylist() == [None]
    assert result.quarantine.column("reject_reason").to_pylist() == [
        "unknown_platform|ingest_date_mismatch|duplicate_event_id"
    ]


def test_catalogue_order_malformed_first_duplicates_last():
    codes = [r.code for r in CATALOGUE]
    assert codes[0] == "malformed_row"
    assert codes[-3:] == ["duplicate_customer_id", "duplicate_event_id", "duplicate_order_id"]
    assert len(codes) == len(set(codes))
    assert rules.split_reasons("a|b||c") == ["a", "b", "c"]
    for code in ("malformed_row", "missing_event_id", "orphan_customer_id", "duplicate_order_id", "amount_status_mismatch"):
        assert rules.RULES[code].action == Action.REJECT
    for code in ("invalid_email", "unknown_country", "missing_session_id", "missing_duration", "missing_platform", "amount_rounded"):
        assert rules.RULES[code].action == Action.WARN


# --------------------------------------------------------------------------- over-rejection


def test_event_with_every_warn_gap_stays_clean(tmp_path):
    row = good_event("E1", session_id="", platform="N/A", duration_ms=" ")
    result = run_rows(tmp_path, EVENTS, [row])
    assert result.quarantine.num_rows == 0
    clean = result.clean.to_pylist()[0]
    assert clean["session_id"] is None
    assert clean["platform"] is None
    assert clean["duration_ms"] is None
    assert clean["warn_reason"] == "missing_platform|missing_session_id|missing_duration"
    assert result.stats.by_warning["missing_session_id"] == 1
    assert result.stats.by_warning["missing_platform"] == 1
    assert result.stats.by_warning["missing_duration"] == 1


@pytest.mark.parametrize("gap", ["session_id", "platform", "duration_ms"])
def test_each_event_warn_gap_alone_stays_clean(tmp_path, gap):
    result = run_rows(tmp_path, EVENTS, [good_event("E1", **{gap: ""})])
    assert result.quarantine.num_rows == 0
    expected = {"session_id": "missing_session_id", "platform": "missing_platform", "duration_ms": "missing_duration"}[gap]
    assert result.clean.column("warn_reason").to_pylist() == [expected]


def test_customer_with_every_warn_gap_stays_clean(tmp_path):
    row = good_customer("C1", email="not-an-email", country="Atlantis", status="zombie")
    result = run_rows(tmp_path, CUSTOMERS, [row])
    assert result.quarantine.num_rows == 0
    clean = result.clean.to_pylist()[0]
    assert clean["email_valid"] is False
    assert clean["country"] is None
    assert clean["status"] is None
    assert clean["warn_reason"] == "invalid_email|unknown_country|unknown_customer_status"


def test_customer_missing_email_country_status_stays_clean(tmp_path):
    result = run_rows(tmp_path, CUSTOMERS, [good_customer("C1", email="", country="", status="")])
    assert result.quarantine.num_rows == 0
    clean = result.clean.to_pylist()[0]
    assert clean["email_valid"] is False
    assert clean["email"] is None


def test_valid_customer_has_no_warn(tmp_path):
    result = run_rows(tmp_path, CUSTOMERS, [good_customer("C1", email=" Ann@Example.COM ")])
    clean = result.clean.to_pylist()[0]
    assert clean["email_valid"] is True
    assert clean["warn_reason"] is None


@pytest.mark.parametrize(
    "raw,expected",
    [("10.005", "10.00"), ("10.015", "10.02"), ("10.025", "10.02"), ("10.0051", "10.01"), ("1,234.565", "1234.56")],
)
def test_amount_with_three_decimals_rounded_half_even_and_warned(tmp_path, raw, expected):
    result = run_rows(tmp_path, ORDERS, [good_order("O1", amount=raw)])
    assert result.quarantine.num_rows == 0
    clean = result.clean.to_pylist()[0]
    assert clean["amount"] == Decimal(expected)
    assert isinstance(clean["amount"], Decimal)
    assert clean["warn_reason"] == "amount_rounded"
    assert result.stats.by_warning["amount_rounded"] == 1


def test_two_decimal_amount_not_flagged(tmp_path):
    result = run_rows(tmp_path, ORDERS, [good_order("O1", amount="19.99")])
    clean = result.clean.to_pylist()[0]
    assert clean["amount"] == Decimal("19.99")
    assert clean["warn_reason"] is None


def test_warned_rows_not_counted_when_rejected(tmp_path):
    # by_warning describes clean rows; a rejected row's warn gaps are not in it
    rows = [good_event("E1", session_id=""), good_event("E2", session_id="", event_type="teleport")]
    result = run_rows(tmp_path, EVENTS, rows)
    assert rows_by(result.clean, "event_id").keys() == {"E1"}
    assert result.stats.by_warning["missing_session_id"] == 1
