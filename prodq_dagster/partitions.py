"""The one daily partitions definition shared by every asset of the chain."""

from __future__ import annotations

import dagster as dg

from .settings import ProdqSettings


def daily_partitions(settings: ProdqSettings) -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists, so a day's files can be processed as they land.
    return dg.DailyPartitionsDefinition(start_date=settings.partitions_start, timezone="UTC", end_offset=1)
