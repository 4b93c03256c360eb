"""Alerts end to end: generated feeds over nine days, each day materialized with ``dagster.materialize``.

The range (days 0..8) is built once per module:

* days 0, 3 and 6 are partial loads (six UTC hours of events missing) -> ``hourly_coverage``;
* day 8 is a low-volume day (30% of the events) after eight earlier days -> ``volume_drop``;
* days 0..6 have fewer than seven prior days -> ``volume_drop`` is skipped with a reason;
* day 4's orders file is removed -> ``missing_feed`` for orders.

Each alert is checked in ``alerts.json`` and as the WARN asset check of the ``alerts`` asset
(a WARN check that fails does not fail the run).
"""

from __future__ import annotations

import json
import sys
from prodq_dagster_tests.conftest import replace_settings as replace
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from prodq_dagster import checks
from prodq_dagster.settings import ProdqSettings as Settings

from .conftest import REPO_ROOT, materialize_day

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import generate_data  # noqa: E402

START = date(2025, 12, 1)
DAYS = [(START + timedelta(days=i)).isoformat() for i in range(9)]
LOW_VOLUME_DAY = DAYS[8]
MISSING_ORDERS_DAY = DAYS[4]
NORMAL_DAY = DAYS[1]


@pytest.fixture(scope="module")
def alert_range(tmp_path_factory):
    """Generate and materialize the nine days once, against a temporary Dagster instance."""
    root = tmp_path_factory.mktemp("alerts_e2e")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    settings = replace(
        Settings(),
        raw_dir=str(root / "raw"),
        out_dir=str(root / "out"),
        reports_dir=str(root / "reports"),
        partitions_start="2025-01-01",
    )
    manifest = generate_data.generate(
        settings.raw_dir,
        DAYS[0],
        DAYS[-1],
        seed=21,
        customers=60,
        events=2000,
        orders=60,
        partial_load_every=3,
        low_volume_day=LOW_VOLUME_DAY,
    )
    (Path(settings.raw_dir) / f"ingest_date={MISSING_ORDERS_DAY}" / "orders_raw.csv").unlink()

    results = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            for day in DAYS:
                result = materialize_day(settings, day, instance)
                assert result.success, day
                results[day] = {
                    e.check_name: e
                    for e in result.get_asset_check_evaluations()
                    if e.asset_key.to_user_string() == "alerts"
                }
    alerts = {
        day: json.loads((Path(settings.reports_dir) / f"ingest_date={day}" / "alerts.json").read_text(encoding="utf-8"))
        for day in DAYS
    }
    return {"manifest": manifest, "alerts": alerts, "checks": results}


def _raised(document: dict, kind: str) -> list[dict]:
    return [a for a in document["alerts"] if a["type"] == kind]


def _skipped(document: dict, kind: str) -> list[dict]:
    return [s for s in document["skipped"] if s["type"] == kind]


def test_partial_load_day_raises_hourly_coverage(alert_range):
    manifest = alert_range["manifest"]["days"]
    partial_days = [day for day in DAYS if manifest[day]["partial_load_hours"]]
    assert partial_days == [DAYS[0], DAYS[3], DAYS[6]]
    for day in partial_days:
        raised = _raised(alert_range["alerts"][day], checks.HOURLY_COVERAGE_CHECK)
        assert len(raised) == 1, day
        empty = raised[0]["details"]["empty_hours"]
        expected_empty = [h for h, n in enumerate(manifest[day]["expected"]["events"]["hourly_clean_events"]) if n == 0]
        assert set(manifest[day]["partial_load_hours"]) <= set(empty)
        assert empty == expected_empty
        evaluation = alert_range["checks"][day][checks.HOURLY_COVERAGE_CHECK]
        assert evaluation.passed is False
        assert evaluation.severity == dg.AssetCheckSeverity.WARN


def test_normal_day_has_no_hourly_coverage_alert(alert_range):
    manifest = alert_range["manifest"]["days"][NORMAL_DAY]
    assert manifest["partial_load_hours"] == []
    assert _raised(alert_range["alerts"][NORMAL_DAY], checks.HOURLY_COVERAGE_CHECK) == []
    assert alert_range["checks"][NORMAL_DAY][checks.HOURLY_COVERAGE_CHECK].passed is True
    for day in DAYS:
        if not alert_range["manifest"]["days"][day]["partial_load_hours"]:
            assert _raised(alert_range["alerts"][day], checks.HOURLY_COVERAGE_CHECK) == [], day


def test_low_volume_day_after_seven_normal_days_raises_volume_drop(alert_range):
    assert alert_range["manifest"]["days"][LOW_VOLUME_DAY]["low_volume"] is True
    document = alert_range["alerts"][LOW_VOLUME_DAY]
    raised = _raised(document, checks.VOLUME_DROP_CHECK)
    assert len(raised) == 1
    details = raised[0]["details"]
    assert details["clean_events"] == alert_range["manifest"]["days"][LOW_VOLUME_DAY]["expected"]["events"]["clean"]
    assert details["baseline_days"] == DAYS[1:8]  # the last seven available prior days
    assert details["clean_events"] < 0.5 * details["baseline_median"]
    assert _skipped(document, checks.VOLUME_DROP_CHECK) == []
    evaluation = alert_range["checks"][LOW_VOLUME_DAY][checks.VOLUME_DROP_CHECK]
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.WARN

    # Control: the day before has a full baseline and a normal volume: evaluated, quiet.
    previous = alert_range["alerts"][DAYS[7]]
    assert _raised(previous, checks.VOLUME_DROP_CHECK) == []
    assert _skipped(previous, checks.VOLUME_DROP_CHECK) == []


def test_volume_drop_is_skipped_without_seven_prior_days(alert_range):
    for day in DAYS[:7]:
        document = alert_range["alerts"][day]
        assert _raised(document, checks.VOLUME_DROP_CHECK) == [], day
        skipped = _skipped(document, checks.VOLUME_DROP_CHECK)
        assert len(skipped) == 1, day
        assert isinstance(skipped[0]["reason"], str) and skipped[0]["reason"].strip(), day
        metadata = alert_range["checks"][day][checks.VOLUME_DROP_CHECK].metadata
        assert metadata["skipped_reason"].value == skipped[0]["reason"]


def test_missing_orders_file_raises_missing_feed(alert_range):
    raised = _raised(alert_range["alerts"][MISSING_ORDERS_DAY], checks.MISSING_FEED_CHECK)
    assert [a["details"]["entity"] for a in raised] == ["orders"]
    evaluation = alert_range["checks"][MISSING_ORDERS_DAY][checks.MISSING_FEED_CHECK]
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    for day in DAYS:
        if day != MISSING_ORDERS_DAY:
            assert _raised(alert_range["alerts"][day], checks.MISSING_FEED_CHECK) == [], day
