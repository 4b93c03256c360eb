"""A feed prodq was not written for, end to end: unknown event types surfaced and alerted,
a user vocabulary that fixes them (and marks the partitions stale), the customer master's
history caught up by the CLI, files that match no feed named.

The fixture is hand-built here, not drawn from the generator: a product-analytics feed
whose event types are partly unknown to the shipped vocabulary.
"""

from __future__ import annotations

import json
import shutil
from prodq_dagster_tests.conftest import replace_settings as replace
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from prodq_dagster import checks
from prodq_dagster.core.contract import code_version
from prodq_dagster.core.vocab import load_vocabularies
from prodq_dagster.definitions import build_definitions

from .conftest import materialize_day, write_csv
from .test_cli import run_cli

DAYS = ("2025-12-08", "2025-12-09", "2025-12-10")
KNOWN = ("login", "Logout", "FEATURE_USE", "paywall_view", "Error", "page_view", "search", "addToCart", "checkout", "purchase")
UNKNOWN = ("app_backgrounded", "Rage Click")  # 25 each of 140 events a day


def build_feed(raw: Path, days=DAYS) -> None:
    """Three days: 5 new customers a day; 140 events a day, 50 of them of types prodq does not know."""
    for n, day in enumerate(days):
        customers = [
            {"customer_id": f"C{n}{i}", "email": f"c{n}{i}@example.com", "created_at": f"{day} 08:00:00", "country": "DE", "status": "active", "ingest_date": day}
            for i in range(5)
        ]
        write_csv(raw, day, "customers", customers)
        events = []
        for i in range(140):
            event_type = KNOWN[i % len(KNOWN)] if i < 90 else (UNKNOWN[0] if i < 115 else UNKNOWN[1])
            # Customers of every day so far, so a master without the earlier days orphans events.
            customer = f"C{i % (n + 1)}{i % 5}"
            events.append(
                {"event_id": f"E{n}{i:04d}", "customer_id": customer, "event_time": f"{day} {i % 24:02d}:{i % 60:02d}:00",
                 "event_type": event_type, "platform": "web", "session_id": f"S{i}", "duration_ms": "1000", "ingest_date": day}  # fmt: skip
            )
        write_csv(raw, day, "events", events)
        orders = [
            {"order_id": f"O{n}{i}", "customer_id": f"C{n}{i}", "order_time": f"{day} 12:00:00", "amount": "9.99", "currency": "EUR", "status": "paid", "ingest_date": day}
            for i in range(5)
        ]
        write_csv(raw, day, "orders", orders)


def _report(reports: Path, day: str, name: str) -> dict:
    return json.loads((reports / f"ingest_date={day}" / name).read_text(encoding="utf-8"))


def _check(result, asset: str, name: str):
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == asset and e.check_name == name]
    return evaluation


def test_unknown_event_types_are_quarantined_listed_alerted_and_gate_the_cli(tmp_path, dagster_home):
    raw, out, reports = tmp_path / "raw", tmp_path / "data", tmp_path / "reports"
    build_feed(raw)
    (raw / f"ingest_date={DAYS[2]}" / "events.csv").write_text("not a feed\n")

    proc = run_cli(["--data_dir", raw, "--out_dir", out, "--start", DAYS[0], "--end", DAYS[2], "--fail-on", "warning"], dagster_home)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "--fail-on warning" in proc.stderr

    for day in DAYS:
        events = _report(reports, day, "validation_report.json")["events"]
        assert (events["total"], events["clean"], events["quarantine"]) == (140, 90, 50)
        assert events["by_reason"] == {"invalid_event_type": 50}
        assert events["unknown_values"]["event_type"] == [
            {"value": "app_backgrounded", "rows": 25, "share": round(25 / 140, 6), "spellings": ["app_backgrounded"]},
            {"value": "rage_click", "rows": 25, "share": round(25 / 140, 6), "spellings": ["Rage Click"]},
        ]
        clean_types = set(pq.read_table(out / "clean" / "events" / f"ingest_date={day}" / "part-0.parquet").column("event_type").to_pylist())
        assert clean_types == {"login", "logout", "feature_use", "paywall_view", "error", "page_view", "search", "add_to_cart", "checkout", "purchase"}
        alerts = _report(reports, day, "alerts.json")["alerts"]
        unknown = [a for a in alerts if a["type"] == "unknown_category_value"]
        assert [(a["details"]["value"], a["details"]["rows"]) for a in unknown] == [("app_backgrounded", 25), ("rage_click", 25)]
        [rate] = [a for a in alerts if a["type"] == "quarantine_rate"]
        assert rate["severity"] == "critical" and rate["details"]["entity"] == "events"
        assert {a["type"] for a in alerts} == {"unknown_category_value", "quarantine_rate"}  # nothing for customers or orders
    assert _report(reports, DAYS[2], "validation_report.json")["unmatched_files"] == ["events.csv"]
    assert "unmatched files (no feed takes them): events.csv" in proc.stdout

    # Without --fail-on the same run exits 0; with --fail-on critical it exits 3 (the quarantine rate is critical).
    assert run_cli(["--data_dir", raw, "--out_dir", out, "--date", DAYS[0]], dagster_home).returncode == 0
    assert run_cli(["--data_dir", raw, "--out_dir", out, "--date", DAYS[0], "--fail-on", "critical"], dagster_home).returncode == 3


def test_a_user_vocabulary_turns_the_rows_clean_and_marks_partitions_stale(paths, instance, tmp_path):
    build_feed(Path(paths.raw_dir), DAYS[:1])
    day = DAYS[0]
    first = materialize_day(paths, day, instance)
    assert first.success
    unknown_check = _check(first, "clean_events", checks.UNKNOWN_VALUES_CHECK)
    assert unknown_check.passed is False and unknown_check.severity == dg.AssetCheckSeverity.WARN
    assert [v["value"] for v in unknown_check.metadata["top_unknown_values"].value["event_type"]] == ["app_backgrounded", "rage_click"]
    assert _check(first, "alerts", checks.QUARANTINE_RATE_CHECK).passed is False

    vocab_dir = tmp_path / "vocab"
    vocab_dir.mkdir()
    (vocab_dir / "event_type.toml").write_text('# our app\n[values]\napp_background = ["app_backgrounded"]\nrage_click = []\n')
    extended = replace(paths, vocab_dir=str(vocab_dir))

    # Before the rerun: every asset's code version changed, so the UI shows the partitions stale.
    key = dg.AssetKey("clean_events")
    recorded = instance.get_latest_materialization_event(key).asset_materialization.tags["dagster/code_version"]
    new_version = build_definitions(extended).resolve_assets_def(key).code_versions_by_key[key]
    assert recorded == code_version(load_vocabularies()) != new_version == code_version(load_vocabularies(vocab_dir))

    second = materialize_day(extended, day, instance)
    assert second.success
    events = _report(Path(paths.reports_dir), day, "validation_report.json")["events"]
    assert (events["clean"], events["quarantine"], events["unknown_values"]) == (140, 0, {})
    clean = pq.read_table(Path(paths.out_dir) / "clean" / "events" / f"ingest_date={day}" / "part-0.parquet")
    assert clean.column("event_type").to_pylist().count("app_background") == 25
    assert _check(second, "clean_events", checks.UNKNOWN_VALUES_CHECK).passed is True
    assert _check(second, "alerts", checks.QUARANTINE_RATE_CHECK).passed is True


def test_fail_on_makes_critical_alerts_fail_the_dagster_run(paths, instance):
    build_feed(Path(paths.raw_dir), DAYS[:1])
    result = materialize_day(replace(paths, fail_on="critical"), DAYS[0], instance)
    assert not result.success
    failed = {e.step_key for e in result.get_step_failure_events()}
    assert failed == {"alerts"}
    rate = _check(result, "alerts", checks.QUARANTINE_RATE_CHECK)
    assert rate.passed is False and rate.severity == dg.AssetCheckSeverity.ERROR
    unknown = _check(result, "alerts", "unknown_category_value")  # a warning: below the gate
    assert unknown.passed is False and unknown.severity == dg.AssetCheckSeverity.WARN
    assert (Path(paths.reports_dir) / f"ingest_date={DAYS[0]}" / "alerts.json").is_file()


def test_one_day_into_a_fresh_folder_equals_the_full_history_run(tmp_path, dagster_home):
    raw = tmp_path / "raw"
    build_feed(raw)
    full, fresh = tmp_path / "full", tmp_path / "fresh"
    assert run_cli(["--data_dir", raw, "--out_dir", full / "data", "--start", DAYS[0], "--end", DAYS[2]], dagster_home).returncode == 0

    proc = run_cli(["--data_dir", raw, "--out_dir", fresh / "data", "--date", DAYS[2]], dagster_home)
    assert proc.returncode == 0, proc.stderr
    assert f"customers of 2 earlier day(s) were never processed ({DAYS[0]}..{DAYS[1]})" in proc.stdout
    for kind in ("clean", "quarantine"):
        for entity in ("customers", "events", "orders"):
            part = Path(kind) / entity / f"ingest_date={DAYS[2]}" / "part-0.parquet"
            assert pq.read_table(fresh / "data" / part).equals(pq.read_table(full / "data" / part)), part
    # The catch-up ran the customers of the earlier days only.
    assert (fresh / "data" / "clean" / "customers" / f"ingest_date={DAYS[0]}").is_dir()
    assert not (fresh / "data" / "clean" / "events" / f"ingest_date={DAYS[0]}").exists()
    orphans = _report(fresh / "reports", DAYS[2], "validation_report.json")["events"]["by_reason"].get("orphan_customer_id", 0)
    assert orphans == 0
    assert not [a for a in _report(fresh / "reports", DAYS[2], "alerts.json")["alerts"] if a["type"] == "master_history_gap"]


def test_master_history_check_lists_the_days_when_the_catch_up_is_bypassed(paths, instance):
    build_feed(Path(paths.raw_dir))
    result = materialize_day(paths, DAYS[2], instance)  # D alone, as `dagster asset materialize` would
    assert result.success
    history = _check(result, "customer_master", checks.MASTER_HISTORY_CHECK)
    assert history.passed is False and history.severity == dg.AssetCheckSeverity.WARN
    assert history.metadata["missing_customers_days"].value == list(DAYS[:2])
    [gap] = [a for a in _report(Path(paths.reports_dir), DAYS[2], "alerts.json")["alerts"] if a["type"] == "master_history_gap"]
    assert gap["details"]["days"] == list(DAYS[:2])
    events = _report(Path(paths.reports_dir), DAYS[2], "validation_report.json")["events"]
    assert events["by_reason"]["orphan_customer_id"] > 0  # what the check warns about

    # Backfilling the customers of the listed days closes the gap.
    for day in DAYS[:2]:
        defs = build_definitions(paths)
        customers = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and "clean_customers" in {k.to_user_string() for k in a.keys}]
        assert dg.materialize(customers, partition_key=day, resources=defs.resources, instance=instance).success
    again = materialize_day(paths, DAYS[2], instance)
    assert _check(again, "customer_master", checks.MASTER_HISTORY_CHECK).passed is True
    assert "orphan_customer_id" not in _report(Path(paths.reports_dir), DAYS[2], "validation_report.json")["events"]["by_reason"]


def test_a_misnamed_feed_file_is_named_in_the_missing_feed_alert(paths, instance):
    build_feed(Path(paths.raw_dir), DAYS[:1])
    folder = Path(paths.raw_dir) / f"ingest_date={DAYS[0]}"
    shutil.move(folder / "orders_raw.csv", folder / "orders.csv")
    (folder / "_SUCCESS").write_text("")
    assert materialize_day(paths, DAYS[0], instance).success
    report = _report(Path(paths.reports_dir), DAYS[0], "validation_report.json")
    assert report["unmatched_files"] == ["orders.csv"]
    [missing] = [a for a in _report(Path(paths.reports_dir), DAYS[0], "alerts.json")["alerts"] if a["type"] == "missing_feed"]
    assert missing["message"] == (
        f"no orders file arrived for {DAYS[0]} (found orders.csv: expected a name starting with orders_raw and ending in .csv or .csv.gz)"
    )
