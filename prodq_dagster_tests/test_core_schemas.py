"""schemas.validate_clean: passes on pipeline output, reports failures as masked data."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from prodq_dagster.core.privacy import mask_email_array, mask_email_text
from prodq_dagster.core.schemas import SAMPLE_LIMIT, validate_clean
from prodq_dagster_tests.test_core_support import (
    CUSTOMERS,
    EVENTS,
    ORDERS,
    good_customer,
    good_event,
    good_order,
    run_rows,
    VOCAB,
)


def _clean(tmp_path, entity, rows):
    return run_rows(tmp_path / entity.name, entity, rows).clean


def _set(table: pa.Table, column: str, values: list) -> pa.Table:
    i = table.schema.get_field_index(column)
    return table.set_column(i, table.schema.field(column), pa.array(values, table.schema.field(column).type))


def _messy(tmp_path):
    customers = [
        good_customer("C1", country="usa", status="actve"),
        good_customer("C2", email="broken", country="Atlantis", status=""),
        good_customer("C3", email="", country="NA"),
        good_customer("C4", created_at="bad-ts"),
        good_customer("C1", email="dup@example.com"),
    ]
    events = [
        good_event("E1", platform="iPhone", event_type="PageView", duration_ms="1.2e5"),
        good_event("E2", platform="", session_id="", duration_ms=""),
        good_event("E3", event_time="2025-12-10T04:21:24-05:00", platform="AND"),
        good_event("E4", event_type="teleport"),
        good_event("E1", session_id=""),
    ]
    orders = [
        good_order("O1", amount="$1,234.50", currency="$", status="succeeded"),
        good_order("O2", amount="0", status="failed", currency="€"),
        good_order("O3", amount="10.005"),
        good_order("O4", amount="0", status="paid"),
    ]
    return {
        "customers": _clean(tmp_path, CUSTOMERS, customers),
        "events": _clean(tmp_path, EVENTS, events),
        "orders": _clean(tmp_path, ORDERS, orders),
    }


def test_pipeline_output_passes_contract(tmp_path):
    tables = _messy(tmp_path)
    for entity, table in tables.items():
        assert table.num_rows >= 3
        result = validate_clean(entity, table, VOCAB)
        assert result.passed, (entity, result.failures_by_check, result.sample)
        assert result.rows == table.num_rows
        assert result.failure_count == 0


def test_empty_pipeline_output_passes(tmp_path):
    for entity in (CUSTOMERS, EVENTS, ORDERS):
        table = _clean(tmp_path, entity, [])
        assert validate_clean(entity.name, table, VOCAB).passed


def test_non_canonical_category_fails_with_counts_and_sample(tmp_path):
    events = _messy(tmp_path)["events"]
    n = events.num_rows
    bad = _set(events, "platform", ["iPhone", "browser"] + events.column("platform").to_pylist()[2:])
    result = validate_clean("events", bad, VOCAB)
    assert result.passed is False
    assert result.rows == n
    platform_keys = [k for k in result.failures_by_check if k.startswith("platform")]
    assert platform_keys, result.failures_by_check
    assert sum(result.failures_by_check[k] for k in platform_keys) == 2
    assert result.failure_count == sum(result.failures_by_check.values())
    cases = {s["failure_case"] for s in result.sample if s["column"] == "platform"}
    assert cases == {"iPhone", "browser"}


def test_duplicate_id_fails(tmp_path):
    orders = _messy(tmp_path)["orders"]
    doubled = pa.concat_tables([orders, orders.slice(0, 1)])
    result = validate_clean("orders", doubled, VOCAB)
    assert result.passed is False
    keys = [k for k in result.failures_by_check if k.startswith("order_id")]
    assert keys, result.failures_by_check
    assert any("unique" in k for k in keys)
    dup_id = orders.column("order_id")[0].as_py()
    assert any(s["column"] == "order_id" and s["failure_case"] == dup_id for s in result.sample)


def test_keys_out_of_order_fail_even_when_unique(tmp_path):
    orders = _messy(tmp_path)["orders"]
    assert orders.num_rows >= 2
    swapped = pa.concat_tables([orders.slice(1, 1), orders.slice(0, 1), orders.slice(2)])
    result = validate_clean("orders", swapped, VOCAB)
    assert result.passed is False
    assert result.failures_by_check == {"order_id: unique_ascending": 1}


def test_amount_status_and_range_checks(tmp_path):
    orders = _messy(tmp_path)["orders"]
    paid_idx = orders.column("status").to_pylist().index("paid")
    amounts = orders.column("amount").to_pylist()
    amounts[paid_idx] = 0
    result = validate_clean("orders", _set(orders, "amount", amounts), VOCAB)
    assert result.passed is False
    assert any("amount_positive_for_paid_refunded_chargeback" in k for k in result.failures_by_check)


def test_email_in_failure_sample_is_masked(tmp_path):
    customers = _messy(tmp_path)["customers"]
    countries = customers.column("country").to_pylist()
    countries[0] = "user@example.com"
    result = validate_clean("customers", _set(customers, "country", countries), VOCAB)
    assert result.passed is False
    text = repr(result.sample) + repr(result.failures_by_check)
    assert "user@example.com" not in text
    assert "u***@example.com" in text


def test_duplicate_email_like_customer_id_masked(tmp_path):
    customers = _messy(tmp_path)["customers"]
    ids = customers.column("customer_id").to_pylist()
    ids[0] = ids[1] = "jane.doe@example.org"
    result = validate_clean("customers", _set(customers, "customer_id", ids), VOCAB)
    assert result.passed is False
    assert "jane.doe@example.org" not in repr(result.sample)
    assert any(s["failure_case"] == "j***@example.org" for s in result.sample)


def test_sample_is_bounded(tmp_path):
    events = _clean(tmp_path, EVENTS, [good_event(f"E{i:03d}") for i in range(SAMPLE_LIMIT + 15)])
    bad = _set(events, "event_type", ["bogus"] * events.num_rows)
    result = validate_clean("events", bad, VOCAB)
    assert result.passed is False
    assert result.failures_by_check and sum(result.failures_by_check.values()) >= SAMPLE_LIMIT + 15
    assert len(result.sample) <= SAMPLE_LIMIT


def test_missing_key_null_fails(tmp_path):
    events = _messy(tmp_path)["events"]
    ids = events.column("customer_id").to_pylist()
    ids[0] = None
    result = validate_clean("events", _set(events, "customer_id", ids), VOCAB)
    assert result.passed is False
    assert any(k.startswith("customer_id") for k in result.failures_by_check)


def test_mask_helpers():
    assert mask_email_text("contact user@example.com now") == "contact u***@example.com now"
    assert mask_email_array(pa.array(["user@example.com", None, "x"])).to_pylist() == ["u***@example.com", None, "x"]
    assert pc.all(pc.invert(pc.match_substring(mask_email_array(pa.array(["abc@d.io"])), "abc@"))).as_py()
