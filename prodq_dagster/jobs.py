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


# A date range runs in phases that respect the look-backs, so the days of one
# phase are independent and can run in parallel (CLI --workers): every customers
# day first (the customer master of D reads the clean customers of all days <= D),
# then per day the master, events, orders, metrics and validation report, then the
# alerts (the volume baseline reads earlier days' daily metrics).
RANGE_PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("customers", ("clean_customers", "quarantine_customers")),
    (
        "facts",
        (
            "customer_master",
            "clean_events",
            "quarantine_events",
            "clean_orders",
            "quarantine_orders",
            "daily_metrics",
            "hourly_events",
            "validation_report",
        ),
    ),
    ("alerts", ("alerts",)),
)
