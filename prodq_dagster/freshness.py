"""Freshness of the raw feed: a WARN check when today's folder has not arrived by a deadline.

Lateness is judged by when the raw-folder sensor first saw the day folder (its
arrival record), never by file mtimes, which copying or generating files resets.
The check runs on its own hourly schedule.
"""


from datetime import datetime, timezone

import dagster as dg

from .checks import FRESHNESS_CHECK
from .core.arrivals import read_arrivals
from .core.freshness import lateness
from .assets.raw import raw_key
from .resources import ProdqStorage

FRESHNESS_JOB_NAME = "prodq_freshness"
FRESHNESS_SCHEDULE_NAME = "prodq_freshness_schedule"


@dg.asset_check(
    asset=raw_key("events"),
    name=FRESHNESS_CHECK,
    description="WARN when today's raw day folder was not first seen by the sensor by PRODQ_FRESHNESS_DEADLINE_HOUR_UTC.",
)
def raw_partition_freshness(prodq_storage: ProdqStorage) -> dg.AssetCheckResult:
    now = datetime.now(timezone.utc)
    verdict = lateness(now.date(), read_arrivals(prodq_storage.out), prodq_storage.settings.freshness_deadline_hour_utc, now)
    return dg.AssetCheckResult(
        passed=not verdict.late,
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict.message,
        metadata={"day": now.date().isoformat(), "first_seen": verdict.first_seen or "", "deadline_utc": verdict.deadline.isoformat()},
    )


freshness_job = dg.define_asset_job(FRESHNESS_JOB_NAME, selection=dg.AssetSelection.checks(raw_partition_freshness))

freshness_schedule = dg.ScheduleDefinition(
    name=FRESHNESS_SCHEDULE_NAME,
    job=freshness_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly: evaluate the raw partition freshness check.",
)
