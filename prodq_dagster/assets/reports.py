"""The per-day JSON documents: validation_report.json and alerts.json."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from .. import checks
from ..core import alerts as core_alerts
from ..core import contract as core_contract
from ..core import storage
from ..core.arrivals import read_arrivals
from ..core.config import Settings
from ..core.freshness import lateness
from ..core.privacy import mask_email_text
from ..core.report import validation_report as build_report
from ..range_wait import wait_for_earlier_days
from ..resources import ProdqConfig, parse_partition_key
from .groups import CONFIG_KEY, REPORTS_GROUP
from .upstream import CLEAN_ASSETS, read_load_stats, read_upstream

def report_dir(config: ProdqConfig, partition_key: str) -> Path:
    return Path(config.reports_dir) / f"ingest_date={partition_key}"

def prior_days(out_dir: str, day, lookback_days: int) -> list[core_alerts.PriorDay]:
    """The volume history of the days before ``day`` that have daily metrics."""
    days = [day - timedelta(days=i) for i in range(lookback_days, 0, -1)]
    columns = ["events_feed_present", "events_clean"]
    found = storage.read_tables(out_dir, "daily_metrics", days, columns=columns)
    return [
        core_alerts.PriorDay(d, bool(t.column("events_feed_present")[0].as_py()), int(t.column("events_clean")[0].as_py()))
        for d, t in found.items()
    ]

def build_report_assets(partitions_def: dg.PartitionsDefinition, settings: Settings) -> list[dg.AssetsDefinition]:
    version = core_contract.RULE_SET_VERSION

    @dg.asset(
        name="validation_report",
        partitions_def=partitions_def,
        group_name=REPORTS_GROUP,
        code_version=version,
        deps=list(CLEAN_ASSETS),
        required_resource_keys={CONFIG_KEY},
        kinds={"json"},
    )
    def validation_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """`reports/ingest_date=D/validation_report.json`: per entity the raw rows, clean, quarantine and
        dropped-duplicate counts (which add up), counts per reject reason, the ten commonest reason
        combinations, duplicates, schema drift and the files read."""
        config: ProdqConfig = getattr(context.resources, CONFIG_KEY)
        day = parse_partition_key(context.partition_key)
        report = build_report(day, context.run_id, read_load_stats(config.out_dir, day))
        path = storage.write_json(report, report_dir(config, context.partition_key) / "validation_report.json")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                **{f"{name}_quarantine": report[name]["quarantine"] for name in core_contract.ENTITIES},
                **{f"{name}_total": report[name]["total"] for name in core_contract.ENTITIES},
            }
        )

    @dg.asset(
        name="alerts",
        partitions_def=partitions_def,
        group_name=REPORTS_GROUP,
        code_version=version,
        # The volume baseline also reads earlier days' daily metrics from storage. A 60-day
        # window dependency would make a 3-day backfill target 60 later days of alerts
        # (backfills walk dependencies downstream); instead alerts of D depend on alerts of
        # D-1, which in turn depend on D-1's metrics, so backfills run the days in order.
        deps=[
            "hourly_events",
            *CLEAN_ASSETS,
            "daily_metrics",
            dg.AssetDep(
                "alerts",
                partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True),
            ),
        ],
        check_specs=[
            dg.AssetCheckSpec(name, asset="alerts", partitions_def=partitions_def, description=f"WARN when the day raises a {name} alert.")
            for name in checks.ALERT_CHECKS
        ],
        required_resource_keys={CONFIG_KEY},
        kinds={"json"},
    )
    def alerts(context: dg.AssetExecutionContext):
        """`reports/ingest_date=D/alerts.json`: hourly_coverage (too many UTC hours without clean events),
        volume_drop (clean events far below the median of the last available prior days), missing_feed
        and schema_drift, plus the alerts that were skipped and why."""
        config: ProdqConfig = getattr(context.resources, CONFIG_KEY)
        settings = config.settings()
        day = parse_partition_key(context.partition_key)
        stats = read_load_stats(config.out_dir, day)
        hourly = read_upstream(config.out_dir, "hourly_events", day, ["event_count"]).column("event_count").to_pylist()
        wait_for_earlier_days(context, "daily_metrics")
        prior = prior_days(config.out_dir, day, settings.volume_lookback_days)
        arrivals = read_arrivals(config.out_dir)
        arrival = None
        if day.isoformat() in arrivals:
            arrival = lateness(day, arrivals, settings.freshness_deadline_hour_utc, datetime.now(timezone.utc))
        document = core_alerts.evaluate_alerts(day, stats, hourly, prior, settings, arrival)
        path = storage.write_json(document, report_dir(config, context.partition_key) / "alerts.json")
        for alert in document["alerts"]:
            context.log.warning(mask_email_text(f"[{alert['type']}] {alert['message']}"))
        yield from checks.alert_check_results("alerts", document)
        yield dg.MaterializeResult(
            asset_key="alerts",
            metadata={"path": dg.MetadataValue.path(str(path)), "alert_count": len(document["alerts"]), "skipped_count": len(document["skipped"])},
        )

    return [validation_report, alerts]
