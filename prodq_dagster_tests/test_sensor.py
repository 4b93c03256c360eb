"""The raw-folder sensor, evaluated tick by tick on a temporary raw folder.

Each test builds the real ``Definitions`` (``build_definitions(settings)``), takes
the ``raw_folder_sensor`` definition and evaluates it with
``dg.build_sensor_context``, carrying the JSON cursor from one tick to the next the
way the sensor daemon does. ``core.arrivals.plan_runs`` (the pure decision logic)
is also exercised directly for the cases that need a moving "today".
"""

from __future__ import annotations

import json
import os
import warnings
from prodq_dagster_tests.conftest import replace_settings as replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from prodq_dagster.core.storage import open_store
from prodq_dagster.core.arrivals import DayScan, plan_runs, read_arrivals, scan_raw_root
from prodq_dagster.definitions import build_definitions
from prodq_dagster.jobs import DAILY_JOB_NAME
from prodq_dagster.sensors import PARTITION_TAG, RAW_SENSOR_NAME, SERIAL_TAG

from .conftest import write_csv

pytestmark = [
    pytest.mark.filterwarnings("ignore::dagster.PreviewWarning"),
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
]

D0, D1, D2 = "2025-12-10", "2025-12-11", "2025-12-12"
ENTITY_NAMES = ("customers", "events", "orders")


# ----------------------------------------------------------------------------- helpers


def _row(entity: str, day: str, tag: str = "") -> dict:
    """One plausible raw row; ``tag`` changes the content (and the size) of the file."""
    if entity == "customers":
        return {"customer_id": f"C{tag}1", "email": f"a{tag}@example.com", "created_at": f"{day}T08:00:00Z",
                "country": "US", "status": "active", "ingest_date": day}
    if entity == "events":
        return {"event_id": f"E{tag}1", "customer_id": "C1", "event_time": f"{day}T09:00:00Z", "event_type": "view",
                "platform": "ios", "session_id": "S1", "duration_ms": "100", "ingest_date": day}
    return {"order_id": f"O{tag}1", "customer_id": "C1", "order_time": f"{day}T10:00:00Z", "amount": "10.00",
            "currency": "USD", "status": "paid", "ingest_date": day}


def write_day(raw_dir: str, day: str, entities=ENTITY_NAMES, tag: str = "") -> None:
    for entity in entities:
        write_csv(raw_dir, day, entity, [_row(entity, day, tag)])


def change_file(raw_dir: str, day: str, entity: str, tag: str = "changed") -> Path:
    """Rewrite a feed with different content (different size) and move its mtime forward."""
    path = write_csv(raw_dir, day, entity, [_row(entity, day, tag), _row(entity, day, tag + "x")])
    stat = path.stat()
    bumped = stat.st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(bumped, bumped))
    return path


def sensor_of(defs: dg.Definitions) -> dg.SensorDefinition:
    with warnings.catch_warnings():  # "get_sensor_def will not resolve resources" (irrelevant here)
        warnings.simplefilter("ignore", UserWarning)
        return defs.get_sensor_def(RAW_SENSOR_NAME)


def tick(defs: dg.Definitions, instance, cursor: str | None):
    """Evaluate one sensor tick; returns (run requests, new cursor)."""
    # The sensor receives the prodq_storage resource (a ConfigurableResource, opened in a context).
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=defs.resources) as context:
        result = sensor_of(defs).evaluate_tick(context)
    return list(result.run_requests or []), result.cursor


def keys(requests) -> list[str]:
    return [r.partition_key for r in requests]


def state(cursor: str) -> dict:
    return json.loads(cursor)["days"]


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


@pytest.fixture
def defs(paths):
    return build_definitions(paths)


# ----------------------------------------------------------------------------- the sensor


def test_sensor_definition_targets_the_daily_job(defs):
    sensor = sensor_of(defs)
    assert sensor.job_name == DAILY_JOB_NAME
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


def test_empty_or_missing_raw_root_requests_nothing(defs, instance, paths):
    requests, cursor = tick(defs, instance, None)  # raw dir does not even exist yet
    assert requests == []
    Path(paths.raw_dir).mkdir(parents=True)
    requests, cursor = tick(defs, instance, cursor)
    assert requests == []


def test_new_complete_day_then_unchanged(defs, instance, paths):
    write_day(paths.raw_dir, D0)

    requests, cursor = tick(defs, instance, None)
    assert keys(requests) == [D0]
    request = requests[0]
    assert request.run_key and request.run_key.startswith(D0)
    assert request.tags[PARTITION_TAG] == D0
    assert request.tags["prodq/reason"] == "new day"
    assert state(cursor)[D0]["status"] == "submitted"

    # Nothing changed: no request, two more times.
    for _ in range(2):
        requests, cursor2 = tick(defs, instance, cursor)
        assert requests == []
        assert state(cursor2) == state(cursor)
        cursor = cursor2


def test_changed_file_requests_a_new_run_key(defs, instance, paths):
    write_day(paths.raw_dir, D0)
    first, cursor = tick(defs, instance, None)
    assert keys(first) == [D0]

    change_file(paths.raw_dir, D0, "events")
    second, cursor = tick(defs, instance, cursor)
    assert keys(second) == [D0]
    assert second[0].run_key != first[0].run_key
    assert second[0].tags["prodq/reason"] == "files changed"

    third, cursor = tick(defs, instance, cursor)
    assert third == []


def test_touched_file_counts_as_changed(defs, instance, paths):
    """The fingerprint is (name, size, mtime): a re-delivered file with a new mtime re-runs the day."""
    write_day(paths.raw_dir, D0)
    first, cursor = tick(defs, instance, None)
    path = Path(paths.raw_dir) / f"ingest_date={D0}" / "orders_raw.csv"
    bumped = path.stat().st_mtime_ns + 10_000_000_000
    os.utime(path, ns=(bumped, bumped))
    second, cursor = tick(defs, instance, cursor)
    assert keys(second) == [D0]
    assert second[0].run_key != first[0].run_key


def test_a_new_file_added_to_a_day_requests_a_run(defs, instance, paths):
    write_day(paths.raw_dir, D0)
    _, cursor = tick(defs, instance, None)
    write_csv(paths.raw_dir, D0, "events", [_row("events", D0, "late")], name="events_raw_part2.csv")
    requests, cursor = tick(defs, instance, cursor)
    assert keys(requests) == [D0]


def test_two_new_days_in_one_tick(defs, instance, paths):
    write_day(paths.raw_dir, D0)
    write_day(paths.raw_dir, D1)
    requests, cursor = tick(defs, instance, None)
    assert keys(requests) == [D0, D1]
    assert len({r.run_key for r in requests}) == 2
    assert tick(defs, instance, cursor)[0] == []


def test_changed_customers_reruns_later_days_that_ran(defs, instance, paths):
    write_day(paths.raw_dir, D0)
    first, cursor = tick(defs, instance, None)
    write_day(paths.raw_dir, D1)
    write_day(paths.raw_dir, D2)
    later, cursor = tick(defs, instance, cursor)
    assert keys(first) == [D0] and keys(later) == [D1, D2]
    used_run_keys = {r.run_key for r in first + later}

    change_file(paths.raw_dir, D0, "customers")
    requests, cursor = tick(defs, instance, cursor)
    assert keys(requests) == [D0, D1, D2]  # in chain order
    for request in requests:
        assert request.tags.get(SERIAL_TAG) == "customers", request.tags
    run_keys = [r.run_key for r in requests]
    assert len(set(run_keys)) == 3
    assert not used_run_keys & set(run_keys), "a re-run must not reuse a run key (the daemon would drop it)"
    assert "customers of" in requests[1].tags["prodq/reason"]

    # The chain is not repeated on the next tick.
    assert tick(defs, instance, cursor)[0] == []


def test_changed_customers_with_a_changed_later_day_in_the_same_tick(defs, instance, paths):
    for day in (D0, D1, D2):
        write_day(paths.raw_dir, day)
    _, cursor = tick(defs, instance, None)
    change_file(paths.raw_dir, D0, "customers")
    change_file(paths.raw_dir, D1, "events")
    requests, cursor = tick(defs, instance, cursor)
    assert keys(requests) == [D0, D1, D2], "each day exactly once"
    assert all(r.tags.get(SERIAL_TAG) == "customers" for r in requests)


def test_changed_non_customer_feed_reruns_only_that_day(defs, instance, paths):
    for day in (D0, D1, D2):
        write_day(paths.raw_dir, day)
    _, cursor = tick(defs, instance, None)
    change_file(paths.raw_dir, D0, "orders")
    requests, cursor = tick(defs, instance, cursor)
    assert keys(requests) == [D0]
    assert SERIAL_TAG not in requests[0].tags


def test_changed_customers_on_the_last_day_reruns_only_that_day(defs, instance, paths):
    for day in (D0, D1, D2):
        write_day(paths.raw_dir, day)
    _, cursor = tick(defs, instance, None)
    change_file(paths.raw_dir, D2, "customers")
    requests, cursor = tick(defs, instance, cursor)
    assert keys(requests) == [D2]


def test_malformed_folder_names_are_skipped(defs, instance, paths):
    raw = Path(paths.raw_dir)
    for bad in ("ingest_date=2025-13-40", "junk", "ingest_date=", "ingest_date=2025-12-1"):
        folder = raw / bad
        folder.mkdir(parents=True)
        for entity in ENTITY_NAMES:
            (folder / f"{entity}_raw.csv").write_text("a,b\n1,2\n")
    (raw / "ingest_date=2025-12-09.csv").write_text("not a folder\n")  # stray file
    write_day(paths.raw_dir, D0)

    requests, cursor = tick(defs, instance, None)  # must not raise
    assert keys(requests) == [D0]
    assert set(state(cursor)) == {D0}
    assert tick(defs, instance, cursor)[0] == []
    assert scan_raw_root(open_store(paths.raw_dir))[1] == ["ingest_date=", "ingest_date=2025-12-1", "ingest_date=2025-13-40", "junk"]


@pytest.mark.parametrize("alias", ["ingest_date=20251210", "ingest_date=2025-W50-3"])
def test_non_canonical_date_spelling_is_not_a_day(defs, instance, paths, alias):
    """Only ``ingest_date=YYYY-MM-DD`` is a day folder: the assets read exactly that path.

    ``date.fromisoformat`` of Python 3.11 also accepts ``20251210`` and ``2025-W50-3``;
    a folder spelled that way must be skipped, not turned into a run of 2025-12-10 whose
    canonical folder does not exist (that run would report every feed missing).
    """
    folder = Path(paths.raw_dir) / alias
    folder.mkdir(parents=True)
    for entity in ENTITY_NAMES:
        (folder / f"{entity}_raw.csv").write_text("a,b\n1,2\n")
    requests, cursor = tick(defs, instance, None)
    assert requests == [], f"{alias} was taken for a day: {keys(requests)}"


def test_future_day_is_kept_pending(defs, instance, paths):
    future = (today_utc() + timedelta(days=3)).isoformat()
    write_day(paths.raw_dir, future)
    write_day(paths.raw_dir, D0)

    requests, cursor = tick(defs, instance, None)
    assert keys(requests) == [D0]
    assert state(cursor)[future]["status"] == "pending_out_of_range"
    assert "submitted" not in state(cursor)[future]

    requests, cursor = tick(defs, instance, cursor)  # still not a partition: still pending, still no run
    assert future not in keys(requests)
    assert state(cursor)[future]["status"] == "pending_out_of_range"


def test_today_is_a_partition_and_runs(defs, instance, paths):
    """end_offset=1: today's folder is processed as it lands (not held until tomorrow)."""
    today = today_utc().isoformat()
    write_day(paths.raw_dir, today)
    requests, _ = tick(defs, instance, None)
    assert keys(requests) == [today]


def test_day_before_the_partitions_start_is_pending(instance, paths):
    defs = build_definitions(replace(paths, partitions_start="2025-12-11"))
    write_day(paths.raw_dir, D0)
    write_day(paths.raw_dir, D1)
    requests, cursor = tick(defs, instance, None)
    assert keys(requests) == [D1]
    assert state(cursor)[D0]["status"] == "pending_out_of_range"


def test_incomplete_day_waits_for_the_grace_period(defs, instance, paths):
    write_day(paths.raw_dir, D0, entities=("customers", "events"))  # orders missing

    requests, cursor = tick(defs, instance, None)
    assert requests == []
    assert state(cursor)[D0]["status"] == "waiting_for_feeds"
    requests, cursor = tick(defs, instance, cursor)
    assert requests == []

    # Pretend the day was first seen longer ago than the grace period.
    data = json.loads(cursor)
    seen = datetime.now(timezone.utc) - timedelta(minutes=paths.sensor_grace_minutes + 1)
    data["days"][D0]["first_seen"] = seen.isoformat()
    requests, cursor = tick(defs, instance, json.dumps(data))
    assert keys(requests) == [D0]
    assert "incomplete" in requests[0].tags["prodq/reason"]
    assert tick(defs, instance, cursor)[0] == []

    # The late feed arrives: the day runs again with the full set.
    write_day(paths.raw_dir, D0, entities=("orders",))
    requests, cursor = tick(defs, instance, cursor)
    assert keys(requests) == [D0]
    assert "incomplete" not in requests[0].tags["prodq/reason"]


def test_incomplete_day_runs_at_once_with_zero_grace(instance, paths):
    defs = build_definitions(replace(paths, sensor_grace_minutes=0))
    write_day(paths.raw_dir, D0, entities=("events", "orders"))
    requests, _ = tick(defs, instance, None)
    assert keys(requests) == [D0]


def test_empty_day_folder_never_runs(defs, instance, paths):
    (Path(paths.raw_dir) / f"ingest_date={D0}").mkdir(parents=True)
    requests, cursor = tick(defs, instance, None)
    assert requests == []
    assert state(cursor)[D0]["status"] == "empty"


def test_cursor_survives_a_restart(instance, paths):
    write_day(paths.raw_dir, D0)
    write_day(paths.raw_dir, D1)
    requests, cursor = tick(build_definitions(paths), instance, None)
    assert keys(requests) == [D0, D1]

    # "Restart": new Definitions (new sensor object), same saved cursor string.
    restarted = build_definitions(paths)
    requests, cursor2 = tick(restarted, instance, cursor)
    assert requests == []
    assert json.loads(cursor2) == json.loads(cursor)

    # ...and it still notices new work after the restart.
    write_day(paths.raw_dir, D2)
    requests, _ = tick(build_definitions(paths), instance, cursor2)
    assert keys(requests) == [D2]


def test_sensor_records_first_seen_arrivals(defs, instance, paths):
    write_day(paths.raw_dir, D0)
    _, cursor = tick(defs, instance, None)
    recorded = read_arrivals(open_store(paths.out_dir))
    assert recorded == {D0: state(cursor)[D0]["first_seen"]}

    # A later tick never moves an arrival time forward.
    write_day(paths.raw_dir, D1)
    _, cursor = tick(defs, instance, cursor)
    again = read_arrivals(open_store(paths.out_dir))
    assert again[D0] == recorded[D0]
    assert set(again) == {D0, D1}


# ----------------------------------------------------------------------------- plan_runs


def _scan(day: str, entities=ENTITY_NAMES, size: int = 10, mtime: int = 1) -> DayScan:
    return DayScan(date.fromisoformat(day), {f"{e}_raw.csv": (size, mtime) for e in entities}, tuple(entities))


NOW = datetime(2025, 12, 12, 12, 0, tzinfo=timezone.utc)
GRACE = timedelta(hours=2)


def test_plan_runs_new_day_then_nothing():
    first, last = date(2025, 1, 1), date(2025, 12, 12)
    plan = plan_runs({}, [_scan(D0)], NOW, first, last, GRACE)
    assert [(r.day.isoformat(), r.reason) for r in plan.runs] == [(D0, "new day")]
    again = plan_runs(plan.state, [_scan(D0)], NOW + timedelta(minutes=1), first, last, GRACE)
    assert again.runs == []
    assert plan.state == {"days": {D0: again.state["days"][D0]}}


def test_plan_runs_future_day_runs_once_it_becomes_a_partition():
    future = "2025-12-15"
    first = date(2025, 1, 1)
    plan = plan_runs({}, [_scan(future)], NOW, first, date(2025, 12, 12), GRACE)
    assert plan.runs == []
    assert plan.state["days"][future]["status"] == "pending_out_of_range"
    assert any(future in note for note in plan.notes)

    later = NOW + timedelta(days=3)
    plan = plan_runs(plan.state, [_scan(future)], later, first, date(2025, 12, 15), GRACE)
    assert [r.day.isoformat() for r in plan.runs] == [future]
    assert plan.state["days"][future]["status"] == "submitted"


def test_plan_runs_grace_period_boundary():
    first, last = date(2025, 1, 1), date(2025, 12, 12)
    scan = _scan(D0, entities=("customers", "events"))
    plan = plan_runs({}, [scan], NOW, first, last, GRACE)
    assert plan.runs == [] and plan.state["days"][D0]["status"] == "waiting_for_feeds"
    assert plan.state["days"][D0]["first_seen"] == NOW.isoformat()
    almost = plan_runs(plan.state, [scan], NOW + GRACE - timedelta(seconds=1), first, last, GRACE)
    assert almost.runs == []
    due = plan_runs(almost.state, [scan], NOW + GRACE, first, last, GRACE)
    assert [r.day.isoformat() for r in due.runs] == [D0]


def test_plan_runs_does_not_mutate_the_previous_state():
    first, last = date(2025, 1, 1), date(2025, 12, 12)
    previous = plan_runs({}, [_scan(D0)], NOW, first, last, GRACE).state
    snapshot = json.dumps(previous, sort_keys=True)
    plan_runs(previous, [_scan(D0, size=99)], NOW, first, last, GRACE)
    assert json.dumps(previous, sort_keys=True) == snapshot


def test_plan_runs_customer_chain_from_the_earliest_changed_day():
    first, last = date(2025, 1, 1), date(2025, 12, 20)
    days = ["2025-12-10", "2025-12-11", "2025-12-12", "2025-12-13"]
    st = plan_runs({}, [_scan(d) for d in days], NOW, first, last, GRACE).state
    scans = [_scan(d) for d in days]
    scans[1] = DayScan(scans[1].day, {**scans[1].files, "customers_raw.csv": (11, 2)}, scans[1].entities_present)
    plan = plan_runs(st, scans, NOW, first, last, GRACE)
    assert [r.day.isoformat() for r in plan.runs] == days[1:]
    assert all(r.serial for r in plan.runs)
