"""Freshness of the raw feed: ``core.freshness.lateness``, the ``raw_partition_freshness``
check run through the ``prodq_freshness`` job, and the ``late_raw_partition`` entry of
alerts.json, all judged from the arrival record the raw-folder sensor writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from prodq_dagster_tests.conftest import replace_settings as replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from prodq_dagster.core.storage import open_store
from prodq_dagster.core.arrivals import read_arrivals
from prodq_dagster.core.freshness import lateness
from prodq_dagster.definitions import build_definitions
from prodq_dagster.freshness import FRESHNESS_JOB_NAME
from prodq_dagster.sensors import RAW_SENSOR_NAME

from .conftest import REPO_ROOT, materialize_day, write_csv

pytestmark = [
    pytest.mark.filterwarnings("ignore::dagster.PreviewWarning"),
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
    pytest.mark.filterwarnings("ignore:Starting in dagster 1.11:UserWarning"),
]

UTC = timezone.utc
CHECK = "raw_partition_freshness"
LATE = "late_raw_partition"


# ----------------------------------------------------------------------------- lateness()

DAY = date(2025, 12, 10)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def test_unseen_before_the_deadline_is_not_late():
    verdict = lateness(DAY, {}, 6, at(5, 59))
    assert not verdict.late and verdict.first_seen is None
    assert verdict.deadline == at(6)
    assert "not seen yet" in verdict.message and "passed" not in verdict.message


@pytest.mark.parametrize("now", [at(6), at(6, 1), at(23, 59), at(1, day=DAY + timedelta(days=3))])
def test_unseen_at_or_after_the_deadline_is_late(now):
    verdict = lateness(DAY, {}, 6, now)
    assert verdict.late
    assert "deadline 06:00 UTC passed" in verdict.message


def test_seen_before_the_deadline_is_on_time_even_when_checked_later():
    arrivals = {DAY.isoformat(): at(5, 30).isoformat()}
    verdict = lateness(DAY, arrivals, 6, at(23))
    assert not verdict.late
    assert verdict.first_seen == arrivals[DAY.isoformat()]
    assert "before" in verdict.message


def test_seen_exactly_at_the_deadline_is_on_time():
    assert not lateness(DAY, {DAY.isoformat(): at(6).isoformat()}, 6, at(7)).late


def test_seen_after_the_deadline_is_late():
    verdict = lateness(DAY, {DAY.isoformat(): at(6, 1).isoformat()}, 6, at(7))
    assert verdict.late and "after" in verdict.message


def test_seen_the_evening_before_counts_as_on_time():
    previous_evening = datetime(2025, 12, 9, 22, 0, tzinfo=UTC).isoformat()
    assert not lateness(DAY, {DAY.isoformat(): previous_evening}, 0, at(12)).late


def test_seen_time_with_another_utc_offset_is_compared_as_an_instant():
    # 07:30+02:00 is 05:30 UTC: before a 06:00 UTC deadline.
    assert not lateness(DAY, {DAY.isoformat(): "2025-12-10T07:30:00+02:00"}, 6, at(9)).late
    # 06:30-01:00 is 07:30 UTC: after it.
    assert lateness(DAY, {DAY.isoformat(): "2025-12-10T06:30:00-01:00"}, 6, at(9)).late


def test_only_the_day_itself_counts():
    arrivals = {"2025-12-09": at(1, day=date(2025, 12, 9)).isoformat(), "2025-12-11": at(1, day=date(2025, 12, 11)).isoformat()}
    verdict = lateness(DAY, arrivals, 6, at(7))
    assert verdict.late and verdict.first_seen is None


def test_deadline_hour_zero_is_midnight_utc():
    verdict = lateness(DAY, {}, 0, at(0))
    assert verdict.deadline == at(0) and verdict.late


# ----------------------------------------------------------------------------- helpers


def run_sensor_tick(defs: dg.Definitions, instance, cursor: str | None = None) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sensor = defs.get_sensor_def(RAW_SENSOR_NAME)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=defs.resources) as context:
        result = sensor.evaluate_tick(context)
    return result.cursor


def write_small_day(raw_dir: str, day: str) -> None:
    for entity, row in {
        "customers": {"customer_id": "C1", "email": "a@example.com", "created_at": f"{day}T08:00:00Z", "country": "US", "status": "active"},
        "events": {"event_id": "E1", "customer_id": "C1", "event_time": f"{day}T09:00:00Z", "event_type": "view", "platform": "ios",
                   "session_id": "S1", "duration_ms": "100"},
        "orders": {"order_id": "O1", "customer_id": "C1", "order_time": f"{day}T10:00:00Z", "amount": "10.00", "currency": "USD",
                   "status": "paid"},
    }.items():
        write_csv(raw_dir, day, entity, [{**row, "ingest_date": day}])


def run_freshness_check(settings, instance) -> dg.AssetCheckEvaluation:
    defs = build_definitions(settings)
    result = defs.resolve_job_def(FRESHNESS_JOB_NAME).execute_in_process(instance=instance)
    assert result.success  # a failed WARN check never fails the run
    evaluations = result.get_asset_check_evaluations()
    assert [e.check_name for e in evaluations] == [CHECK]
    evaluation = evaluations[0]
    assert evaluation.asset_key == dg.AssetKey("raw_events")
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    return evaluation


def today() -> date:
    return datetime.now(UTC).date()


# ----------------------------------------------------------------------------- the check


def test_check_without_an_arrival_record_warns(paths, instance):
    evaluation = run_freshness_check(replace(paths, freshness_deadline_hour_utc=0), instance)
    assert evaluation.passed is False
    assert "not seen yet" in evaluation.description and "passed" in evaluation.description
    assert evaluation.metadata["first_seen"].value == ""
    assert evaluation.metadata["day"].value == today().isoformat()


def test_check_with_a_record_written_by_the_sensor(paths, instance):
    """The sensor sees today's folder now, i.e. after a 00:00 deadline: the check warns 'after'."""
    settings = replace(paths, freshness_deadline_hour_utc=0)
    write_small_day(paths.raw_dir, today().isoformat())
    run_sensor_tick(build_definitions(settings), instance)
    first_seen = read_arrivals(open_store(paths.out_dir))[today().isoformat()]

    evaluation = run_freshness_check(settings, instance)
    assert evaluation.metadata["first_seen"].value == first_seen
    assert evaluation.passed is False
    assert "first seen" in evaluation.description and "after" in evaluation.description


def test_check_passes_when_the_sensor_saw_the_folder_before_the_deadline(paths, instance):
    """Cursor edited so the sensor's first sighting of today's folder was just before midnight UTC."""
    settings = replace(paths, freshness_deadline_hour_utc=0)
    key = today().isoformat()
    write_small_day(paths.raw_dir, key)
    early = (datetime.combine(today(), time(0), tzinfo=UTC) - timedelta(minutes=1)).isoformat()
    cursor = json.dumps({"days": {key: {"first_seen": early}}})
    run_sensor_tick(build_definitions(settings), instance, cursor)
    assert read_arrivals(open_store(paths.out_dir))[key] == early

    evaluation = run_freshness_check(settings, instance)
    assert evaluation.passed is True
    assert evaluation.metadata["first_seen"].value == early
    assert "before" in evaluation.description


def test_check_passes_before_the_deadline_without_a_record(paths, instance):
    now = datetime.now(UTC)
    deadline = now.hour + (2 if now.minute >= 55 else 1)  # keep clear of the hour turning during the test
    if deadline > 23:
        pytest.skip("no later deadline hour left today (UTC)")
    evaluation = run_freshness_check(replace(paths, freshness_deadline_hour_utc=deadline), instance)
    assert evaluation.passed is True
    assert "not seen yet" in evaluation.description and "passed" not in evaluation.description


def test_arrival_record_is_never_moved_forward_by_later_ticks(paths, instance):
    settings = replace(paths, freshness_deadline_hour_utc=0)
    key = today().isoformat()
    write_small_day(paths.raw_dir, key)
    defs = build_definitions(settings)
    cursor = run_sensor_tick(defs, instance)
    first = read_arrivals(open_store(paths.out_dir))[key]
    # A sensor restarted without its cursor sees the folder "for the first time" again.
    run_sensor_tick(build_definitions(settings), instance, None)
    assert read_arrivals(open_store(paths.out_dir))[key] == first
    assert json.loads(cursor)["days"][key]["first_seen"] == first


# ----------------------------------------------------------------------------- alerts.json


D0, D1 = "2025-12-10", "2025-12-11"


@pytest.fixture(scope="module")
def generated_raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "raw"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "generate_data.py"), "--out_dir", str(out), "--start", D0, "--end", D1,
         "--customers", "100", "--events", "1000", "--orders", "100"],
        check=True, capture_output=True, cwd=REPO_ROOT,
    )
    return out


def copy_day(generated: Path, raw_dir: str, day: str) -> None:
    shutil.copytree(generated / f"ingest_date={day}", Path(raw_dir) / f"ingest_date={day}")


def alerts_of(settings, day: str) -> dict:
    return json.loads((Path(settings.reports_dir) / f"ingest_date={day}" / "alerts.json").read_text())


def test_alerts_use_the_arrival_record(paths, instance, generated_raw):
    """D0 was seen by the sensor (arrival record), D1 never was: only D1 skips the freshness alert."""
    settings = paths
    copy_day(generated_raw, settings.raw_dir, D0)
    cursor = run_sensor_tick(build_definitions(settings), instance)
    assert D0 in read_arrivals(open_store(settings.out_dir))
    copy_day(generated_raw, settings.raw_dir, D1)  # lands after the sensor's tick

    for day in (D0, D1):
        assert materialize_day(settings, day, instance).success

    seen, unseen = alerts_of(settings, D0), alerts_of(settings, D1)
    assert LATE not in [s["type"] for s in seen["skipped"]]
    assert LATE in [s["type"] for s in unseen["skipped"]]
    assert LATE not in [a["type"] for a in unseen["alerts"]]
    reason = next(s["reason"] for s in unseen["skipped"] if s["type"] == LATE)
    assert "arrival record" in reason

    # D0 is in the past: first seen (now) long after its deadline, so it is reported late.
    late = [a for a in seen["alerts"] if a["type"] == LATE]
    assert len(late) == 1
    assert late[0]["severity"] == "warning"
    assert late[0]["details"]["first_seen"] == json.loads(cursor)["days"][D0]["first_seen"]


def test_alerts_of_a_day_seen_before_its_deadline_have_no_freshness_entry(paths, instance, generated_raw):
    copy_day(generated_raw, paths.raw_dir, D0)
    on_time = datetime(2025, 12, 10, 3, 0, tzinfo=UTC).isoformat()  # before the default 06:00 deadline
    run_sensor_tick(build_definitions(paths), instance, json.dumps({"days": {D0: {"first_seen": on_time}}}))
    assert materialize_day(paths, D0, instance).success
    document = alerts_of(paths, D0)
    assert LATE not in [a["type"] for a in document["alerts"]]
    assert LATE not in [s["type"] for s in document["skipped"]]
