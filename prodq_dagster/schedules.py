"""The daily schedule: each tick materializes the previous day's partition for the whole chain."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from .settings import ProdqSettings

DAILY_SCHEDULE_NAME = "prodq_daily_schedule"


def build_daily_schedule(job, partitions_def: dg.TimeWindowPartitionsDefinition, settings: ProdqSettings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=DAILY_SCHEDULE_NAME,
        job=job,
        cron_schedule=f"{settings.schedule_minute} {settings.schedule_hour} * * *",
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Every day at PRODQ_SCHEDULE_HOUR:PRODQ_SCHEDULE_MINUTE (PRODQ_SCHEDULE_TIMEZONE), "
        "materialize the previous day's partition of the whole chain.",
    )
    def daily_schedule(context: dg.ScheduleEvaluationContext):
        previous_day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
        if previous_day not in partitions_def.get_partition_keys(current_time=context.scheduled_execution_time):
            return dg.SkipReason(f"{previous_day} is not a partition (partitions start {settings.partitions_start})")
        return dg.RunRequest(run_key=f"schedule:{previous_day}", partition_key=previous_day)

    return daily_schedule
