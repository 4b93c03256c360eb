"""Normalization: vocabularies, null markers, numbers and money, through the real pipeline."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from prodq_dagster.core import normalize as nz
from prodq_dagster.core.contract import NULL_MARKERS as CONTRACT_NULL_MARKERS
from prodq_dagster_tests.test_core_support import (
    CUSTOMERS,
    EVENTS,
    ORDERS,
    good_customer,
    good_event,
    good_order,
    rows_by,
    run_rows,
)

NULL_MARKERS = ["N/A", "n/a", "null", "NULL", "-", "none", "None", "nan", "NaN", "", "   ", " \t "]


@pytest.mark.parametrize(
    "raw,expected",
    [("usa", "US"), ("United States", "US"), ("  us ", "US"), ("uk", "GB"), ("UK", "GB"), ("gb", "GB"),
     ("NA", "NA"), ("na", "NA"), ("Namibia", "NA"), ("Germany", "DE"), ("de", "DE")],
)
def test_country_vocabulary(tmp_path, raw, expected):
    result = run_rows(tmp_path, CUSTOMERS, [good_customer("C1", country=raw)])
    clean = result.clean.to_pylist()[0]
    assert clean["country"] == expected
    assert clean["warn_reason"] is None


def test_na_country_is_namibia_not_null(tmp_path):
    rows = [good_customer("C1", country="NA"), good_customer("C2", country="N/A")]
    result = run_rows(tmp_path, CUSTOMERS, rows)
    by_id = rows_by(result.clean, "customer_id")
    assert by_id["C1"]["country"] == "NA"
    assert by_id["C1"]["warn_reason"] is None
    assert by_id["C2"]["country"] is None
    assert by_id["C2"]["warn_reason"] == "unknown_country"


@pytest.mark.parametrize(
    "raw,expected",
    [("iPhone", "ios"), ("IOS", "ios"), ("AND", "android"), ("android", "android"), ("browser", "web"), (" Web ", "web")],
)
def test_platform_vocabulary(tmp_path, raw, expected):
    result = run_rows(tmp_path, EVENTS, [good_event("E1", platform=raw)])
    assert result.quarantine.num_rows == 0
    assert result.clean.column("platform").to_pylist() == [expected]


@pytest.mark.parametrize(
    "raw,expected",
    [("PageView", "page_view"), ("page view", "page_view"), ("Page-View", "page_view"), ("PAGE_VIEW", "page_view"),
     ("add to cart", "add_to_cart"), ("AddToCart", "add_to_cart"), ("addToCart", "add_to_cart"), (" purchase ", "purchase"),
     ("login", "login"), ("LOGIN", "login"), ("Logged In", "login"), ("Logout", "logout"), ("sign_up", "signup"),
     ("FEATURE_USE", "feature_use"), ("FeatureUse", "feature_use"), ("Feature Used", "feature_use"),
     ("paywall_view", "paywall_view"), ("Paywall View", "paywall_view"), ("Error", "error"), ("search", "search"),
     ("checkout", "checkout"), ("Order Completed", "purchase")],
)
def test_event_type_vocabulary(tmp_path, raw, expected):
    result = run_rows(tmp_path, EVENTS, [good_event("E1", event_type=raw)])
    assert result.quarantine.num_rows == 0, result.quarantine.column("reject_reason").to_pylist()
    assert result.clean.column("event_type").to_pylist() == [expected]


@pytest.mark.parametrize("raw,expected", [("$", "USD"), ("usd", "USD"), ("€", "EUR"), ("eur", "EUR"), (" Eur ", "EUR"), ("£", "GBP")])
def test_currency_vocabulary(tmp_path, raw, expected):
    result = run_rows(tmp_path, ORDERS, [good_order("O1", currency=raw)])
    assert result.quarantine.num_rows == 0
    assert result.clean.column("currency").to_pylist() == [expected]


@pytest.mark.parametrize("raw,expected", [("PAID", "paid"), ("succeeded", "paid"), ("Succeeded", "paid"), ("FAILED", "failed"), ("Refunded", "refunded"), ("chargeback", "chargeback")])
def test_order_status_vocabulary(tmp_path, raw, expected):
    amount = "0" if expected == "failed" else "5.00"
    result = run_rows(tmp_path, ORDERS, [good_order("O1", status=raw, amount=amount)])
    assert result.quarantine.num_rows == 0
    assert result.clean.column("status").to_pylist() == [expected]


@pytest.mark.parametrize("raw,expected", [("actve", "active"), ("ACTIVE", "active"), ("Inactive", "inactive"), ("banned", "banned")])
def test_customer_status_vocabulary(tmp_path, raw, expected):
    result = run_rows(tmp_path, CUSTOMERS, [good_customer("C1", status=raw)])
    clean = result.clean.to_pylist()[0]
    assert clean["status"] == expected
    assert clean["warn_reason"] is None


@pytest.mark.parametrize("marker", NULL_MARKERS)
def test_null_markers_are_missing(marker):
    out = nz.text(pa.array([marker, " keep ", "NA"], pa.string())).to_pylist()
    assert out == [None, "keep", "NA"]


def test_text_equals_trim_then_marker_lookup_on_every_shape():
    """The fast path (markers looked up only among short values, nulls set in a new
    validity bitmap) gives exactly the plain definition, also on sliced arrays."""
    import random

    import pyarrow.compute as pc

    def plain(values):
        trimmed = pc.utf8_trim_whitespace(values)
        marker = pc.is_in(pc.utf8_lower(trimmed), value_set=pa.array(sorted(CONTRACT_NULL_MARKERS)))
        return pc.if_else(pc.fill_null(marker, True), pa.scalar(None, pa.string()), trimmed)

    pool = ["", " ", "null", "NULL", " NuLl ", "n/a", "N/A", "-", " - ", "nan", "NaN", "none", "None ",
            "abc", " abc ", "\u00a0x\u00a0", "x\x1f", "é", "nul", "nulls", "--", None, "1234", "C0001", "na"]
    rng = random.Random(7)
    for _ in range(300):
        values = pa.array([rng.choice(pool) for _ in range(rng.randint(0, 40))], pa.string())
        start = rng.randint(0, len(values))
        for array in (values, values.slice(start, rng.randint(0, len(values) - start))):
            out = nz.text(array)
            out.validate(full=True)
            assert out.equals(plain(array)), array.to_pylist()


@pytest.mark.parametrize("marker", NULL_MARKERS)
def test_null_marker_platform_is_missing_not_unknown(tmp_path, marker):
    result = run_rows(tmp_path, EVENTS, [good_event("E1", platform=marker, session_id=marker)])
    assert result.quarantine.num_rows == 0
    clean = result.clean.to_pylist()[0]
    assert clean["platform"] is None
    assert clean["session_id"] is None
    assert clean["warn_reason"] == "missing_platform|missing_session_id"


def test_values_are_trimmed(tmp_path):
    row = good_event(" E1 ", customer_id="  C1 ", session_id=" S1 ")
    result = run_rows(tmp_path, EVENTS, [row])
    clean = result.clean.to_pylist()[0]
    assert (clean["event_id"], clean["customer_id"], clean["session_id"]) == ("E1", "C1", "S1")


@pytest.mark.parametrize(
    "raw,expected",
    [("$1,234.50", "1234.50"), ("1234.5", "1234.50"), ("€ 99", "99.00"), (" 1,000,000.00 ", "1000000.00"), ("0.1", "0.10")],
)
def test_money_parsed_exactly(tmp_path, raw, expected):
    result = run_rows(tmp_path, ORDERS, [good_order("O1", amount=raw)])
    assert result.quarantine.num_rows == 0
    amount = result.clean.column("amount").to_pylist()[0]
    assert isinstance(amount, Decimal)
    assert amount == Decimal(expected)
    assert str(result.clean.schema.field("amount").type) == "decimal128(18, 2)"


@pytest.mark.parametrize("raw,expected", [("1.2e5", 120000), ("120000.0", 120000), ("120000", 120000), (" 1500 ", 1500)])
def test_duration_numbers(tmp_path, raw, expected):
    result = run_rows(tmp_path, EVENTS, [good_event("E1", duration_ms=raw)])
    assert result.quarantine.num_rows == 0
    assert result.clean.column("duration_ms").to_pylist() == [expected]
    assert result.clean.schema.field("duration_ms").type == pa.int64()


@pytest.mark.parametrize(
    "raw,status,reason",
    [
        ("-0.004", "failed", "invalid_amount"),  # negative before rounding, although it rounds to 0.00
        ("-0.00", "failed", None),  # exactly zero
        ("0.004", "paid", "amount_status_mismatch"),  # the rounded value is what the status rule sees
        ("9999999999999999.995", "paid", "invalid_amount"),  # rounds past decimal128(18, 2)
        ("9999999999999999.99", "paid", None),
        ("99999999999999999", "paid", "invalid_amount"),
    ],
)
def test_money_sign_and_range_on_the_exact_value(tmp_path, raw, status, reason):
    result = run_rows(tmp_path, ORDERS, [good_order("O1", amount=raw, status=status)])
    reasons = result.quarantine.column("reject_reason").to_pylist()
    assert reasons == ([reason] if reason else [])
