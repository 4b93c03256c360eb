"""Daily metrics (one wide row) and hourly clean event counts of a day."""

import dagster as dg
import pyarrow as pa

from ..core import metrics as core_metrics
from ..core.contract import ENTITIES
from ..core.stats import EntityStats
from ..resources import ProdqStorage, parse_partition_key
from .groups import IO_MANAGER_KEY, METRICS_GROUP
from .metadata import column_schema


def load_stats_ins() -> dict[str, dg.AssetIn]:
    """The three entities' load statistics of the day, as inputs."""
    return {f"load_stats_{name}": dg.AssetIn() for name in ENTITIES}

_CHARTED = ("events_clean", "events_quarantine_rate", "orders_quarantine_rate", "duration_ms_p95", "amount_p95_USD", "amount_p95_EUR", "events_outside_day")


def build_metrics_assets(partitions_def: dg.PartitionsDefinition, version: str) -> dg.AssetsDefinition:

    @dg.multi_asset(
        name="metrics",
        partitions_def=partitions_def,
        group_name=METRICS_GROUP,
        outs={
            "daily_metrics": dg.AssetOut(
                io_manager_key=IO_MANAGER_KEY,
                code_version=version,
                kinds={"parquet"},
                description="One wide row per day: volume per dataset (raw/clean/quarantine/dropped), events by type "
                "and platform, orders by status, distinct customers, raw-quality rates (invalid timestamps, orphans, "
                "duplicates, null rates), p50/p95 of duration_ms and of amount per currency, events_outside_day.",
            ),
            "hourly_events": dg.AssetOut(
                io_manager_key=IO_MANAGER_KEY,
                code_version=version,
                kinds={"parquet"},
                description="24 rows: UTC hour of the ingest day and its clean event count (events outside the day excluded).",
            ),
        },
        ins={
            # Only the columns the metrics use, so a large day is never loaded whole.
            "clean_events": dg.AssetIn(
                metadata={"columns": core_metrics.EVENT_COLUMNS, "dictionary_columns": core_metrics.EVENT_TEXT_COLUMNS}
            ),
            "clean_orders": dg.AssetIn(metadata={"columns": core_metrics.ORDER_COLUMNS}),
            **load_stats_ins(),
        },
    )
    def metrics(
        context: dg.AssetExecutionContext,
        prodq_storage: ProdqStorage,
        clean_events: pa.Table,
        clean_orders: pa.Table,
        load_stats_customers: EntityStats,
        load_stats_events: EntityStats,
        load_stats_orders: EntityStats,
    ):
        """Compute the day's quality and volume metrics and its hourly clean event counts."""
        day = parse_partition_key(context.partition_key)
        events = core_metrics.summarize_events(day, clean_events)
        del clean_events
        stats = {"customers": load_stats_customers, "events": load_stats_events, "orders": load_stats_orders}
        daily = core_metrics.daily_metrics(day, stats, events, clean_orders, prodq_storage.settings.vocabularies())
        hourly = core_metrics.hourly_events(events)
        row = daily.to_pylist()[0]
        charted = {key: row[key] for key in _CHARTED if row.get(key) is not None}
        yield dg.Output(daily, output_name="daily_metrics", metadata={"dagster/row_count": 1, "dagster/column_schema": column_schema(daily.schema), **charted})
        empty_hours = int(sum(1 for c in hourly.column("event_count").to_pylist() if c == 0))
        yield dg.Output(hourly, output_name="hourly_events", metadata={"dagster/row_count": 24, "empty_hours": empty_hours})

    return metrics
