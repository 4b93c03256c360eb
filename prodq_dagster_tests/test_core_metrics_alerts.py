"""metrics.daily_metrics / hourly_events and alerts.evaluate_alerts over real pipeline output."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prodq_dagster.core.alerts import (
    HOURLY_COVERAGE,
    MASTER_HISTORY_GAP,
    MISSING_FEED,
    QUARANTINE_RATE,
    UNKNOWN_CATEGORY_VALUE,
    VOLUME_DROP,
    PriorDay,
    evaluate_alerts,
    worst_severity,
)
from prodq_dagster.settings import ProdqSettings as Settings
from prodq_dagster.core.metrics import EVENT_TEXT_COLUMNS, daily_metrics, hourly_events, summarize_events
from prodq_dagster_tests.test_core_support import (
    VOCAB,
    CUSTOMERS,
    DAY,
    EVENTS,
    ORDERS,
    good_customer,
    good_event,
    good_order,
    run_dir,
    write_csv,
)

D = DAY.isoformat()


def run_day(root, events=None, orders=None, customers=None):
    """Write the given feeds (None = feed absent), process all three entities; -> (results, stats)."""
    feeds = {"customers": customers, "events": events, "orders": orders}
    for name, rows in feeds.items():
        if rows is not None:
            write_csv(root, D, name, rows)
    results = {e.name: run_dir(root, e) for e in (CUSTOMERS, EVENTS, ORDERS)}
    return results, {name: r.stats for name, r in results.items()}


def events_at_hours(hours, prefix="E") -> list[dict]:
    return [good_event(f"{prefix}{i:04d}", event_time=f"{D} {h:02d}:{i % 60:02d}:00") for i, h in enumerate(hours)]


CUSTOMER_ROWS = [good_customer(c) for c in ("C1", "C2", "C3")]


# ---------------------------------------------------------------------------- metrics


def test_hourly_events_counts_per_utc_hour_and_excludes_outside_day(tmp_path):
    rows = events_at_hours([0, 0, 5, 23])
    rows += [
        good_event("X1", event_time="2025-12-11 00:30:00"),  # next day
        good_event("X2", event_time="2025-12-09 23:59:59"),  # previous day
        good_event("X3", event_time="2025-12-10T20:30:00-05:00"),  # 01:30 UTC on the 11th
        good_event("X4", event_time="2025-12-10T03:30:00+05:30"),  # 22:00 UTC on the 9th
        good_event("H1", event_time="2025-12-10T06:15:00+05:30"),  # 00:45 UTC -> hour 0
        good_event("H2", event_time="2025-12-10T09:59:59-05:00"),  # 14:59:59 UTC -> hour 14
    ]
    results, stats = run_day(tmp_path, events=rows, orders=[], customers=CUSTOMER_ROWS)
    clean = results["events"].clean
    assert clean.num_rows == 10  # outside-day events are kept

    hourly = hourly_events(summarize_events(DAY, clean))
    assert hourly.num_rows == 24
    assert hourly.column("hour").to_pylist() == list(range(24))
    counts = dict(zip(hourly.column("hour").to_pylist(), hourly.column("event_count").to_pylist()))
    expected = {h: 0 for h in range(24)} | {0: 3, 5: 1, 14: 1, 23: 1}
    assert counts == expected

    metrics = daily_metrics(DAY, stats, summarize_events(DAY, clean), results["orders"].clean, VOCAB).to_pylist()[0]
    assert metrics["events_outside_day"] == 4
    assert metrics["events_clean"] == 10
    assert sum(counts.values()) + metrics["events_outside_day"] == metrics["events_clean"]


def test_amount_percentiles_per_currency(tmp_path):
    orders = [good_order(f"U{i}", amount="10.00", currency="USD") for i in range(5)]
    orders += [good_order(f"R{i}", amount="500.00", currency="€") for i in range(3)]
    orders += [good_order("Z1", amount="99999.00", currency="XYZ")]  # rejected: not in any percentile
    results, stats = run_day(tmp_path, events=events_at_hours(range(24)), orders=orders, customers=CUSTOMER_ROWS)
    m = daily_metrics(DAY, stats, summarize_events(DAY, results["events"].clean), results["orders"].clean, VOCAB).to_pylist()[0]
    assert m["amount_p50_USD"] == 10.0
    assert m["amount_p95_USD"] == 10.0
    assert m["amount_p50_EUR"] == 500.0
    assert m["amount_p95_EUR"] == 500.0
    assert m["amount_p50_GBP"] is None
    assert m["orders_clean"] == 8 and m["orders_quarantine"] == 1


def test_daily_metrics_counts_and_rates(tmp_path):
    events = events_at_hours(range(24))
    events[0]["platform"] = "iPhone"
    events[1]["event_type"] = "add to cart"
    events[2]["duration_ms"] = "1.2e5"
    events += [good_event("B1", customer_id="C999"), good_event("B2", event_time="bad-ts")]
    events += [dict(events[3])]  # full-row duplicate
    results, stats = run_day(tmp_path, events=events, orders=[good_order("O1", customer_id="C2")], customers=CUSTOMER_ROWS)
    m = daily_metrics(DAY, stats, summarize_events(DAY, results["events"].clean), results["orders"].clean, VOCAB).to_pylist()[0]
    assert m["events_total"] == 27
    assert m["events_clean"] == 24
    assert m["events_quarantine"] == 2
    assert m["events_dropped_duplicates"] == 1
    assert m["events_total"] == m["events_clean"] + m["events_quarantine"] + m["events_dropped_duplicates"]
    assert m["events_platform_ios"] == 1 and m["events_platform_web"] == 23
    assert m["events_type_add_to_cart"] == 1 and m["events_type_page_view"] == 23
    assert m["events_orphan_rate"] == pytest.approx(1 / 27)
    assert m["events_invalid_timestamp_rate"] == pytest.approx(1 / 27)
    assert m["events_full_row_duplicate_rate"] == pytest.approx(1 / 27)
    assert m["customers_with_clean_event"] == 1
    assert m["customers_with_clean_order"] == 1
    assert m["duration_ms_p50"] == 1000
    assert m["orders_status_paid"] == 1


def test_metrics_from_dictionary_encoded_batches_equal_the_plain_table(tmp_path):
    """The metrics asset reads text columns dictionary-encoded, row group by row group."""
    import pyarrow.parquet as pq

    events = events_at_hours([h % 24 for h in range(300)])
    for i, row in enumerate(events):
        row["customer_id"] = ("C1", "C2", "C3")[i % 3]
        row["platform"] = ("web", "ios", "android")[i % 3]
        row["duration_ms"] = str(i * 7)
    events += [good_event("X1", event_time="2025-12-11 00:30:00"), good_event("N1", duration_ms="", platform="")]
    results, stats = run_day(tmp_path, events=events, orders=[], customers=CUSTOMER_ROWS)
    clean = results["events"].clean
    path = tmp_path / "events.parquet"
    pq.write_table(clean, path, row_group_size=64)  # several batches, a dictionary each
    batched = pq.read_table(path, read_dictionary=EVENT_TEXT_COLUMNS)
    assert batched.column("customer_id").num_chunks > 1

    plain, encoded = summarize_events(DAY, clean), summarize_events(DAY, batched)
    orders = results["orders"].clean
    assert daily_metrics(DAY, stats, encoded, orders, VOCAB).to_pylist() == daily_metrics(DAY, stats, plain, orders, VOCAB).to_pylist()
    assert hourly_events(encoded).equals(hourly_events(plain))
    m = daily_metrics(DAY, stats, encoded, orders, VOCAB).to_pylist()[0]
    assert m["customers_with_clean_event"] == 3
    assert m["events_platform_ios"] == 100 and m["events_platform_missing"] == 1 and m["events_outside_day"] == 1
    durations = sorted([i * 7 for i in range(300)] + [1000])  # X1 keeps the default 1000; N1 has none
    assert m["duration_ms_p50"] == durations[150] and m["duration_ms_p95"] == durations[285]


# ---------------------------------------------------------------------------- alerts


def _alerts(tmp_path, hours, prior=(), settings=None, **feeds):
    events = events_at_hours(hours) if hours is not None else None
    feeds.setdefault("orders", [])
    feeds.setdefault("customers", CUSTOMER_ROWS)
    results, stats = run_day(tmp_path, events=events, **feeds)
    counts = hourly_events(summarize_events(DAY, results["events"].clean)).column("event_count").to_pylist()
    return evaluate_alerts(DAY, stats, counts, list(prior), (settings or Settings()).alert_policy())


def _types(doc, key="alerts"):
    return [a["type"] for a in doc[key]]


FULL_PRIOR = [PriorDay(DAY - timedelta(days=i), True, 24) for i in range(1, 8)]


def test_more_than_four_empty_hours_alerts(tmp_path):
    doc = _alerts(tmp_path, hours=list(range(19)), prior=FULL_PRIOR)  # hours 19..23 empty: 5
    cov = [a for a in doc["alerts"] if a["type"] == HOURLY_COVERAGE]
    assert len(cov) == 1
    assert cov[0]["details"]["empty_hours"] == [19, 20, 21, 22, 23]
    assert doc["ingest_date"] == D


def test_four_empty_hours_is_fine(tmp_path):
    doc = _alerts(tmp_path, hours=list(range(20)) * 2, prior=FULL_PRIOR)  # 4 empty hours
    assert HOURLY_COVERAGE not in _types(doc)
    assert doc["alerts"] == []


def test_hourly_threshold_is_configuration(tmp_path):
    settings = Settings(hourly_max_empty_hours=5)
    doc = _alerts(tmp_path, hours=list(range(19)), prior=FULL_PRIOR, settings=settings)
    assert HOURLY_COVERAGE not in _types(doc)


def test_volume_drop_alert_at_30_percent_of_median(tmp_path):
    prior = [PriorDay(DAY - timedelta(days=i), True, 100) for i in range(1, 8)]
    doc = _alerts(tmp_path, hours=[h % 24 for h in range(30)], prior=prior)
    drops = [a for a in doc["alerts"] if a["type"] == VOLUME_DROP]
    assert len(drops) == 1
    assert drops[0]["details"]["clean_events"] == 30
    assert drops[0]["details"]["baseline_median"] == 100
    assert len(drops[0]["details"]["baseline_days"]) == 7
    assert VOLUME_DROP not in _types(doc, "skipped")


def test_no_volume_drop_at_60_percent_of_median(tmp_path):
    prior = [PriorDay(DAY - timedelta(days=i), True, 100) for i in range(1, 8)]
    doc = _alerts(tmp_path, hours=[h % 24 for h in range(60)], prior=prior)
    assert VOLUME_DROP not in _types(doc)
    assert VOLUME_DROP not in _types(doc, "skipped")


def test_fewer_than_seven_prior_days_skipped_with_reason(tmp_path):
    prior = [PriorDay(DAY - timedelta(days=i), True, 100) for i in range(1, 7)]
    doc = _alerts(tmp_path, hours=[0], prior=prior)  # would be a huge drop
    assert VOLUME_DROP not in _types(doc)
    skipped = [s for s in doc["skipped"] if s["type"] == VOLUME_DROP]
    assert len(skipped) == 1 and skipped[0]["reason"]


def test_prior_days_without_events_feed_are_not_available(tmp_path):
    prior = [PriorDay(DAY - timedelta(days=i), True, 100) for i in range(1, 7)]
    prior.append(PriorDay(DAY - timedelta(days=7), False, 0))
    doc = _alerts(tmp_path, hours=[0], prior=prior)
    assert VOLUME_DROP not in _types(doc)
    assert VOLUME_DROP in _types(doc, "skipped")


def test_prior_day_with_feed_but_zero_rows_is_available(tmp_path):
    prior = [PriorDay(DAY - timedelta(days=i), True, 100) for i in range(1, 7)]
    prior.append(PriorDay(DAY - timedelta(days=7), True, 0))
    doc = _alerts(tmp_path, hours=[0], prior=prior)
    assert VOLUME_DROP in _types(doc)
    assert VOLUME_DROP not in _types(doc, "skipped")


def test_baseline_uses_last_seven_available_days(tmp_path):
    # 7 recent days at 100, older days at 10 000 must not lift the median
    prior = [PriorDay(DAY - timedelta(days=i), True, 100) for i in range(1, 8)]
    prior += [PriorDay(DAY - timedelta(days=i), True, 10_000) for i in range(8, 20)]
    doc = _alerts(tmp_path, hours=[h % 24 for h in range(80)], prior=prior)
    assert VOLUME_DROP not in _types(doc)


def test_missing_events_feed_alerts_and_skips_dependents(tmp_path):
    doc = _alerts(tmp_path, hours=None, prior=FULL_PRIOR)
    missing = [a for a in doc["alerts"] if a["type"] == MISSING_FEED]
    assert [a["details"]["entity"] for a in missing] == ["events"]
    # all 24 hours are empty, but the coverage/volume rules cannot judge a missing feed
    assert HOURLY_COVERAGE not in _types(doc) and VOLUME_DROP not in _types(doc)
    assert {HOURLY_COVERAGE, VOLUME_DROP} <= set(_types(doc, "skipped"))


@pytest.mark.parametrize("absent", ["customers", "orders"])
def test_missing_other_feed_alerts(tmp_path, absent):
    doc = _alerts(tmp_path, hours=list(range(24)), prior=FULL_PRIOR, **{absent: None})
    missing = [a["details"]["entity"] for a in doc["alerts"] if a["type"] == MISSING_FEED]
    assert missing == [absent]


def test_empty_events_file_is_present_not_missing(tmp_path):
    doc = _alerts(tmp_path, hours=[], prior=FULL_PRIOR)
    assert MISSING_FEED not in _types(doc)
    assert HOURLY_COVERAGE in _types(doc)
    assert VOLUME_DROP in _types(doc)


def test_metrics_schema_same_on_quiet_and_busy_days(tmp_path):
    quiet, quiet_stats = run_day(tmp_path / "quiet")  # no feeds at all
    busy_orders = [good_order("O1"), good_order("O2", currency="€", amount="3.50"), good_order("O3", status="failed", amount="0")]
    busy, busy_stats = run_day(tmp_path / "busy", events=events_at_hours(range(24)), orders=busy_orders, customers=CUSTOMER_ROWS)
    q = daily_metrics(DAY, quiet_stats, summarize_events(DAY, quiet["events"].clean), quiet["orders"].clean, VOCAB)
    b = daily_metrics(DAY, busy_stats, summarize_events(DAY, busy["events"].clean), busy["orders"].clean, VOCAB)
    assert q.schema == b.schema
    assert q.num_rows == b.num_rows == 1
    row = q.to_pylist()[0]
    assert row["events_feed_present"] is False and row["events_total"] == 0
    assert hourly_events(summarize_events(DAY, quiet["events"].clean)).column("event_count").to_pylist() == [0] * 24


def test_validation_report_sections(tmp_path):
    from prodq_dagster.core.report import validation_report

    events = events_at_hours(range(3)) + [good_event("B1", event_type="teleport"), good_event("B2", event_type=" Teleport")]
    _, stats = run_day(tmp_path, events=events, orders=None, customers=CUSTOMER_ROWS)
    report = validation_report(DAY, "run-1", "v1", stats, ["events.csv"])
    assert (report["ingest_date"], report["run_id"], report["code_version"]) == (D, "run-1", "v1")
    assert report["rule_set_version"]
    assert report["unmatched_files"] == ["events.csv"]
    keys = {"total", "clean", "quarantine", "dropped_duplicates", "malformed", "by_reason", "by_warning",
            "top_reason_combinations", "unknown_values", "duplicates", "schema", "files", "feed_present", "conservation_ok"}  # fmt: skip
    for name in ("customers", "events", "orders"):
        section = report[name]
        assert keys <= set(section)
        assert section["conservation_ok"] is True
    assert report["events"]["unknown_values"] == {
        "event_type": [{"value": "teleport", "rows": 2, "share": 0.4, "spellings": ["Teleport", "teleport"]}]
    }
    assert report["events"]["by_reason"] == {"invalid_event_type": 2}
    assert report["events"]["top_reason_combinations"] == [{"reject_reason": "invalid_event_type", "count": 2}]
    assert report["orders"]["feed_present"] is False


# ---------------------------------------------------------------------------- unknown values, quarantine rate, history


def _doc(tmp_path, events, prior=(), settings=None, unmatched=None, gaps=None, **feeds):
    feeds.setdefault("orders", [])
    feeds.setdefault("customers", CUSTOMER_ROWS)
    results, stats = run_day(tmp_path, events=events, **feeds)
    counts = hourly_events(summarize_events(DAY, results["events"].clean)).column("event_count").to_pylist()
    return evaluate_alerts(DAY, stats, counts, list(prior), (settings or Settings()).alert_policy(), None, unmatched, gaps)


def _with_unknown(n_good: int, n_unknown: int, value: str = "teleport") -> list[dict]:
    rows = events_at_hours([h % 24 for h in range(n_good)])
    return rows + [good_event(f"U{i:04d}", event_type=value if i % 2 else value.upper()) for i in range(n_unknown)]


def test_common_unknown_value_raises_one_warning_with_advice(tmp_path):
    doc = _doc(tmp_path, _with_unknown(380, 20))
    [alert] = [a for a in doc["alerts"] if a["type"] == UNKNOWN_CATEGORY_VALUE]
    assert alert["severity"] == "warning"
    d = alert["details"]
    assert (d["entity"], d["column"], d["vocabulary"], d["value"], d["rows"]) == ("events", "event_type", "event_type", "teleport", 20)
    assert d["share"] == pytest.approx(20 / 400)
    assert d["spellings"] == ["TELEPORT", "teleport"]
    assert "add it to the event_type vocabulary" in alert["message"]


@pytest.mark.parametrize("n_good,n_unknown", [(380, 19), (2400, 20)])  # too few rows; under 1% of the rows
def test_rare_unknown_value_stays_quiet(tmp_path, n_good, n_unknown):
    doc = _doc(tmp_path, _with_unknown(n_good, n_unknown))
    assert UNKNOWN_CATEGORY_VALUE not in _types(doc)


def test_unknown_value_thresholds_are_configuration(tmp_path):
    settings = Settings(unknown_value_min_rows=5, unknown_value_min_share=0.001)
    doc = _doc(tmp_path, _with_unknown(2400, 10), settings=settings)
    assert _types(doc).count(UNKNOWN_CATEGORY_VALUE) == 1


def test_unknown_customer_country_is_surfaced_although_only_a_warning(tmp_path):
    customers = CUSTOMER_ROWS + [good_customer(f"X{i}", country="Atlantis") for i in range(30)]
    doc = _doc(tmp_path, events_at_hours(range(24)), customers=customers)
    [alert] = [a for a in doc["alerts"] if a["type"] == UNKNOWN_CATEGORY_VALUE]
    assert (alert["details"]["entity"], alert["details"]["column"], alert["details"]["value"]) == ("customers", "country", "atlantis")


def test_quarantine_rate_above_the_hard_limit_is_critical_without_history(tmp_path):
    doc = _doc(tmp_path, _with_unknown(70, 30))
    [alert] = [a for a in doc["alerts"] if a["type"] == QUARANTINE_RATE]
    assert alert["severity"] == "critical"
    assert alert["details"]["entity"] == "events" and alert["details"]["quarantine_rate"] == pytest.approx(0.3)
    assert "invalid_event_type" in alert["message"]
    assert worst_severity(doc) == "critical"


def _quiet_prior(rate: float, alerted: bool = False, days=range(1, 8)) -> list[PriorDay]:
    names = ("customers", "events", "orders")
    return [
        PriorDay(DAY - timedelta(days=i), True, 100, {n: True for n in names}, {n: rate for n in names}, {n: alerted for n in names})
        for i in days
    ]


def test_quarantine_rate_over_its_baseline_warns(tmp_path):
    doc = _doc(tmp_path, _with_unknown(90, 10), prior=_quiet_prior(0.01))  # 10% against 1% + 5 points
    [alert] = [a for a in doc["alerts"] if a["type"] == QUARANTINE_RATE]
    assert alert["severity"] == "warning"
    assert alert["details"]["baseline"] == pytest.approx(0.01) and len(alert["details"]["baseline_days"]) == 7


def test_quarantine_rate_within_the_margin_is_quiet(tmp_path):
    doc = _doc(tmp_path, _with_unknown(95, 5), prior=_quiet_prior(0.01))  # 5% <= 1% + 5 points
    assert QUARANTINE_RATE not in _types(doc)
    assert QUARANTINE_RATE not in _types(doc, "skipped")


def test_quarantine_baseline_skips_days_that_alerted_and_needs_seven(tmp_path):
    prior = _quiet_prior(0.01, days=range(1, 7)) + _quiet_prior(0.5, alerted=True, days=range(7, 12))
    doc = _doc(tmp_path, _with_unknown(90, 10), prior=prior)
    assert QUARANTINE_RATE not in _types(doc)
    reasons = [s["reason"] for s in doc["skipped"] if s["type"] == QUARANTINE_RATE]
    assert any(r.startswith("events: only 6 prior day(s)") for r in reasons)


def test_quarantine_rate_limit_is_configuration(tmp_path):
    doc = _doc(tmp_path, _with_unknown(70, 30), settings=Settings(quarantine_rate_max=0.5))
    assert QUARANTINE_RATE not in _types(doc)


def test_master_history_gap_lists_the_days(tmp_path):
    gaps = [DAY - timedelta(days=3), DAY - timedelta(days=2)]
    doc = _doc(tmp_path, events_at_hours(range(24)), gaps=gaps)
    [alert] = [a for a in doc["alerts"] if a["type"] == MASTER_HISTORY_GAP]
    assert alert["details"]["days"] == ["2025-12-07", "2025-12-08"]
    assert alert["severity"] == "warning"


def test_missing_feed_names_a_file_that_looks_like_it(tmp_path):
    doc = _doc(tmp_path, None, unmatched=["Events.csv", "notes.txt"])
    [alert] = [a for a in doc["alerts"] if a["type"] == MISSING_FEED]
    assert "found Events.csv: expected a name starting with events_raw" in alert["message"]
    assert alert["details"]["similar_files"] == ["Events.csv"]


def test_worst_severity():
    assert worst_severity({"alerts": []}) is None
    assert worst_severity({"alerts": [{"severity": "warning"}, {"severity": "critical"}]}) == "critical"
    assert worst_severity({"alerts": [{"severity": "warning"}]}) == "warning"
