"""The per-day JSON documents: validation_report.json and alerts.json."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from .. import checks
from ..core import alerts as core_alerts
from ..core import contract as core_contract
from ..core import storage
from ..core.arrivals import master_history_gaps, read_arrivals
from ..core.freshness import lateness
from ..core.privacy import mask_email_text
from ..core.reader import unmatched_files
from ..core.report import validation_report as build_report
from ..range_wait import wait_for_earlier_days
from ..resources import ProdqConfig, parse_partition_key
from .groups import CONFIG_KEY, REPORTS_GROUP
from .upstream import CLEAN_ASSETS, read_load_stats, read_upstream


def report_dir(config: ProdqConfig, partition_key: str) -> Path:
    return Path(config.reports_dir) / f"ingest_date={partition_key}"


def prior_days(config: ProdqConfig, day, lookback_days: int) -> list[core_alerts.PriorDay]:
    """The history of the days before ``day`` that have daily metrics (and whether they alerted)."""
    days = [day - timedelta(days=i) for i in range(lookback_days, 0, -1)]
    entities = list(core_contract.ENTITIES)
    columns = ["events_clean"] + [f"{e}_feed_present" for e in entities] + [f"{e}_quarantine_rate" for e in entities]
    found = storage.read_tables(config.out_dir, "daily_metrics", days, columns=columns)
    prior = []
    for d, table in found.items():
        row = table.to_pylist()[0]
        document = storage.read_json(report_dir(config, d.isoformat()) / "alerts.json")
        prior.append(
            core_alerts.PriorDay(
                d,
                bool(row["events_feed_present"]),
                int(row["events_clean"]),
                feed_present={e: bool(row[f"{e}_feed_present"]) for e in entities},
                quarantine_rate={e: float(row[f"{e}_quarantine_rate"]) for e in entities},
                quarantine_alerted=core_alerts.quarantine_alerted(document) if document is not None else {},
            )
        )
    return prior


def build_report_assets(partitions_def: dg.PartitionsDefinition, version: str, fail_on: str) -> list[dg.AssetsDefinition]:
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
        combinations, the commonest raw category values no vocabulary knows, duplicates, schema drift
        and the files read; plus the files of the day folder that match no feed."""
        config: ProdqConfig = getattr(context.resources, CONFIG_KEY)
        day = parse_partition_key(context.partition_key)
        unmatched = unmatched_files(Path(config.raw_dir) / f"ingest_date={day.isoformat()}")
        report = build_report(day, context.run_id, version, read_load_stats(config.out_dir, day), unmatched)
        path = storage.write_json(report, report_dir(config, context.partition_key) / "validation_report.json")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                **{f"{name}_quarantine": report[name]["quarantine"] for name in core_contract.ENTITIES},
                **{f"{name}_total": report[name]["total"] for name in core_contract.ENTITIES},
                "unmatched_files": len(unmatched),
            }
        )

    @dg.asset(
        name="alerts",
        partitions_def=partitions_def,
        group_name=REPORTS_GROUP,
        code_version=version,
        # The baselines also read earlier days' daily metrics and alerts from storage. A 60-day
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
            dg.AssetCheckSpec(
                name,
                asset="alerts",
                partitions_def=partitions_def,
                # With PRODQ_FAIL_ON set, alerts at or above that severity fail these checks with
                # ERROR severity, and a blocking check then fails the run (the CI gate).
                blocking=fail_on != "none",
                description=f"Fails when the day raises a {name} alert (WARN; ERROR at or above PRODQ_FAIL_ON).",
            )
            for name in checks.ALERT_CHECKS
        ],
        required_resource_keys={CONFIG_KEY},
        kinds={"json"},
    )
    def alerts(context: dg.AssetExecutionContext):
        """`reports/ingest_date=D/alerts.json`: missing feeds, schema drift, unknown category values,
        quarantine rate (above a hard limit, or above its trailing baseline), hourly coverage (too many
        UTC hours without clean events), volume drop (clean events far below the median of the last
        available prior days), gaps in the customer master's history and late raw folders; plus the
        alerts that were skipped and why."""
        config: ProdqConfig = getattr(context.resources, CONFIG_KEY)
        settings = config.settings()
        day = parse_partition_key(context.partition_key)
        stats = read_load_stats(config.out_dir, day)
        hourly = read_upstream(config.out_dir, "hourly_events", day, ["event_count"]).column("event_count").to_pylist()
        wait_for_earlier_days(context, "daily_metrics")
        prior = prior_days(config, day, settings.volume_lookback_days)
        arrivals = read_arrivals(config.out_dir)
        arrival = None
        if day.isoformat() in arrivals:
            arrival = lateness(day, arrivals, settings.freshness_deadline_hour_utc, datetime.now(timezone.utc))
        first_partition = parse_partition_key(partitions_def.get_first_partition_key())
        gaps = master_history_gaps(config.raw_dir, storage.written_days(config.out_dir, "clean_customers"), day, since=first_partition)
        unmatched = unmatched_files(Path(config.raw_dir) / f"ingest_date={day.isoformat()}")
        document = core_alerts.evaluate_alerts(day, stats, hourly, prior, settings, arrival, unmatched, gaps)
        path = storage.write_json(document, report_dir(config, context.partition_key) / "alerts.json")
        for alert in document["alerts"]:
            context.log.warning(mask_email_text(f"[{alert['type']}] {alert['message']}"))
        yield dg.MaterializeResult(
            asset_key="alerts",
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "alert_count": len(document["alerts"]),
                "critical_alerts": sum(1 for a in document["alerts"] if a["severity"] == core_alerts.CRITICAL),
                "skipped_count": len(document["skipped"]),
            },
        )
        yield from checks.alert_check_results("alerts", document, fail_on)

    return [validation_report, alerts]
