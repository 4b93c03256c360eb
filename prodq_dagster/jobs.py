"""The partitioned job that materializes the whole chain for one day."""

from __future__ import annotations

import dagster as dg

DAILY_JOB_NAME = "prodq_daily"


def build_daily_job(partitions_def: dg.PartitionsDefinition):
    return dg.define_asset_job(
        DAILY_JOB_NAME,
        selection=dg.AssetSelection.all(),
        partitions_def=partitions_def,
        description="Materialize the whole prodq chain (clean/quarantine, master, metrics, reports) for one day.",
    )

