"""The raw-folder sensor: one run request per new or changed day folder.

The decisions live in ``core.arrivals.plan_runs``; this module turns them into
``RunRequest``s, keeps the JSON cursor and logs why a folder was skipped.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import dagster as dg

from .core.arrivals import plan_runs, record_arrivals, scan_raw_root
from .resources import ProdqStorage
from .settings import ProdqSettings

RAW_SENSOR_NAME = "raw_folder_sensor"
# Runs of one customer-master chain share this tag; dagster.yaml limits it to one at a time,
# so a changed customers day finishes before the later days that depend on it.
SERIAL_TAG = "prodq/master_chain"
PARTITION_TAG = "prodq/partition"


def partition_range(partitions_def: dg.TimeWindowPartitionsDefinition, now: datetime) -> tuple[date, date]:
    keys = partitions_def.get_partition_keys(current_time=now)
    if not keys:
        return date.max, date.min
    return date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])


def build_raw_sensor(job, partitions_def: dg.TimeWindowPartitionsDefinition, settings: ProdqSettings) -> dg.SensorDefinition:
    @dg.sensor(
        name=RAW_SENSOR_NAME,
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Watches {settings.raw_dir} for ingest_date=YYYY-MM-DD folders. A complete new day, or a changed file "
            "(size or mtime), requests one run of that partition; a day with a missing feed runs after "
            f"{settings.sensor_grace_minutes} minutes so the missing_feed alert fires. A changed customers day "
            "also re-runs the later days that already ran."
        ),
    )
    def raw_folder_sensor(context: dg.SensorEvaluationContext, prodq_storage: ProdqStorage):
        now = datetime.now(timezone.utc)
        state = json.loads(context.cursor) if context.cursor else {}
        scans, bad_names = scan_raw_root(prodq_storage.raw)
        for name in bad_names:
            context.log.info(f"skipping folder {name!r}: not ingest_date=YYYY-MM-DD")
        first, last = partition_range(partitions_def, now)
        grace = timedelta(minutes=prodq_storage.settings.sensor_grace_minutes)
        plan = plan_runs(state, scans, now, first, last, grace)
        for note in plan.notes:
            context.log.info(note)
        record_arrivals(prodq_storage.out, plan.state)
        requests = [
            dg.RunRequest(
                run_key=run.run_key,
                partition_key=run.day.isoformat(),
                tags={PARTITION_TAG: run.day.isoformat(), "prodq/reason": run.reason, **({SERIAL_TAG: "customers"} if run.serial else {})},
            )
            for run in plan.runs
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(plan.state, sort_keys=True))

    return raw_folder_sensor
