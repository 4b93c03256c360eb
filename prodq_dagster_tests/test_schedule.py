"""The daily schedule: each tick requests the previous day's partition of the whole chain."""

from __future__ import annotations

from prodq_dagster_tests.conftest import replace_settings as replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from prodq_dagster.definitions import build_definitions
from prodq_dagster.freshness import FRESHNESS_JOB_NAME, FRESHNESS_SCHEDULE_NAME
from prodq_dagster.jobs import DAILY_JOB_NAME
from prodq_dagster.schedules import DAILY_SCHEDULE_NAME

pytestmark = [
    pytest.mark.filterwarnings("ignore::dagster.PreviewWarning"),
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
    pytest.mark.filterwarnings("ignore:Starting in dagster 1.11:UserWarning"),
]

UTC = timezone.utc


def evaluate(defs: dg.Definitions, when: datetime, instance=None):
    schedule = defs.get_schedule_def(DAILY_SCHEDULE_NAME)
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    return schedule.evaluate_tick(context)


def test_tick_requests_the_previous_day(paths, instance):
    defs = build_definitions(paths)
    result = evaluate(defs, datetime(2025, 12, 11, 2, 0, tzinfo=UTC), instance)
    assert result.skip_message is None
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.partition_key == "2025-12-10"
    assert request.run_key == "schedule:2025-12-10"
    assert request.tags["dagster/partition"] == "2025-12-10"


def test_ticks_on_consecutive_days_request_distinct_partitions(paths, instance):
    defs = build_definitions(paths)
    keys = [evaluate(defs, datetime(2025, 12, d, 2, 0, tzinfo=UTC), instance).run_requests[0].partition_key for d in (1, 2, 3)]
    assert keys == ["2025-11-30", "2025-12-01", "2025-12-02"]


def test_tick_on_the_partitions_start_day_skips(paths, instance):
    defs = build_definitions(replace(paths, partitions_start="2025-12-11"))
    result = evaluate(defs, datetime(2025, 12, 11, 2, 0, tzinfo=UTC), instance)
    assert not result.run_requests
    assert "2025-12-10" in result.skip_message and "not a partition" in result.skip_message

    # The next day's tick has a partition to run: the start day itself.
    result = evaluate(defs, datetime(2025, 12, 12, 2, 0, tzinfo=UTC), instance)
    assert [r.partition_key for r in result.run_requests] == ["2025-12-11"]


def test_schedule_definition_defaults(paths):
    defs = build_definitions(paths)
    schedule = defs.get_schedule_def(DAILY_SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == DAILY_JOB_NAME
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    freshness = defs.get_schedule_def(FRESHNESS_SCHEDULE_NAME)
    assert freshness.job_name == FRESHNESS_JOB_NAME


def test_hour_minute_and_timezone_come_from_settings(paths):
    settings = replace(paths, schedule_hour=5, schedule_minute=30, schedule_timezone="Europe/Berlin")
    schedule = build_definitions(settings).get_schedule_def(DAILY_SCHEDULE_NAME)
    assert schedule.cron_schedule == "30 5 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"


def test_settings_from_env_reach_the_schedule(paths, monkeypatch):
    from prodq_dagster.settings import ProdqSettings as Settings

    monkeypatch.setenv("PRODQ_SCHEDULE_HOUR", "7")
    monkeypatch.setenv("PRODQ_SCHEDULE_TIMEZONE", "America/New_York")
    env = Settings.from_env()
    schedule = build_definitions(replace(paths, schedule_hour=env.schedule_hour, schedule_timezone=env.schedule_timezone)).get_schedule_def(
        DAILY_SCHEDULE_NAME
    )
    assert schedule.cron_schedule == "0 7 * * *"
    assert schedule.execution_timezone == "America/New_York"


def test_tick_in_a_non_utc_timezone_uses_the_local_previous_day(paths, instance):
    """01:30 in Tokyo on Dec 11 is still Dec 10 in UTC: the previous day is Dec 10 local."""
    settings = replace(paths, schedule_hour=1, schedule_minute=30, schedule_timezone="Asia/Tokyo")
    defs = build_definitions(settings)
    when = datetime(2025, 12, 11, 1, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    result = evaluate(defs, when, instance)
    assert [r.partition_key for r in result.run_requests] == ["2025-12-10"]

