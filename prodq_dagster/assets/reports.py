"""The per-day reports: validation_report.json, alerts.json and the HTML report with its index."""

from datetime import datetime, timezone

import dagster as dg
import pyarrow as pa

from .. import checks
from ..core import alerts as core_alerts
from ..core import contract as core_contract
from ..core.arrivals import master_history_gaps, read_arrivals
from ..core.freshness import lateness
from ..core.privacy import mask_email_text
from ..core.reader import day_folder, unmatched_files
from ..core.report import validation_report as build_report
from ..core.stats import EntityStats
from ..reporting import ALERTS_FILE, REPORT_FILE, prior_days, write_day_html, write_index_html
from ..resources import ProdqStorage, parse_partition_key
from .groups import REPORTS_GROUP
from .metrics import load_stats_ins

def build_report_assets(partitions_def: dg.PartitionsDefinition, version: str, fail_on: str) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name="validation_report",
        partitions_def=partitions_def,
        group_name=REPORTS_GROUP,
        code_version=version,
        ins=load_stats_ins(),
        kinds={"json"},
    )
    def validation_report(
        context: dg.AssetExecutionContext,
        prodq_storage: ProdqStorage,
        load_stats_customers: EntityStats,
        load_stats_events: EntityStats,
        load_stats_orders: EntityStats,
    ) -> dg.MaterializeResult:
        """`reports/ingest_date=D/validation_report.json`: per entity the raw rows, clean, quarantine and
        dropped-duplicate counts (which add up), counts per reject reason, the ten commonest reason
        combinations, the commonest raw category values no vocabulary knows, duplicates, schema drift
        and the files read; plus the files of the day folder that match no feed."""
        day = parse_partition_key(context.partition_key)
        unmatched = unmatched_files(prodq_storage.raw, day_folder(day))
        stats = {"customers": load_stats_customers, "events": load_stats_events, "orders": load_stats_orders}
        report = build_report(day, context.run_id, version, stats, unmatched)
        path = prodq_storage.write_report(day, REPORT_FILE, report)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(path),
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
        ins={**load_stats_ins(), "hourly_events": dg.AssetIn(metadata={"columns": ["event_count"]})},
        deps=[
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
        kinds={"json"},
    )
    def alerts(
        context: dg.AssetExecutionContext,
        prodq_storage: ProdqStorage,
        load_stats_customers: EntityStats,
        load_stats_events: EntityStats,
        load_stats_orders: EntityStats,
        hourly_events: pa.Table,
    ):
        """`reports/ingest_date=D/alerts.json`: missing feeds, schema drift, unknown category values,
        quarantine rate (above a hard limit, or above its trailing baseline), hourly coverage (too many
        UTC hours without clean events), volume drop (clean events far below the median of the last
        available prior days), gaps in the customer master's history and late raw folders; plus the
        alerts that were skipped and why."""
        settings = prodq_storage.settings
        policy = settings.alert_policy()
        day = parse_partition_key(context.partition_key)
        stats = {"customers": load_stats_customers, "events": load_stats_events, "orders": load_stats_orders}
        hourly = hourly_events.column("event_count").to_pylist()
        prior = prior_days(prodq_storage, day, policy.volume_lookback_days)
        arrivals = read_arrivals(prodq_storage.out)
        arrival = None
        if day.isoformat() in arrivals:
            arrival = lateness(day, arrivals, settings.freshness_deadline_hour_utc, datetime.now(timezone.utc))
        first_partition = parse_partition_key(partitions_def.get_first_partition_key())
        gaps = master_history_gaps(prodq_storage.raw, prodq_storage.written_days("clean_customers"), day, since=first_partition)
        unmatched = unmatched_files(prodq_storage.raw, day_folder(day))
        document = core_alerts.evaluate_alerts(day, stats, hourly, prior, policy, arrival, unmatched, gaps)
        path = prodq_storage.write_report(day, ALERTS_FILE, document)
        for alert in document["alerts"]:
            context.log.warning(mask_email_text(f"[{alert['type']}] {alert['message']}"))
        yield dg.MaterializeResult(
            asset_key="alerts",
            metadata={
                "path": dg.MetadataValue.path(path),
                "alert_count": len(document["alerts"]),
                "critical_alerts": sum(1 for a in document["alerts"] if a["severity"] == core_alerts.CRITICAL),
                "skipped_count": len(document["skipped"]),
            },
        )
        yield from checks.alert_check_results("alerts", document, fail_on)

    @dg.asset(
        name="html_report",
        partitions_def=partitions_def,
        group_name=REPORTS_GROUP,
        code_version=version,
        deps=["validation_report", "alerts", "hourly_events", "daily_metrics", *(f"quarantine_{e}" for e in core_contract.ENTITIES)],
        kinds={"html"},
    )
    def html_report(context: dg.AssetExecutionContext, prodq_storage: ProdqStorage) -> dg.MaterializeResult:
        """`reports/ingest_date=D/report.html` and `reports/index.html`: one self-contained page per day
        (row accounting with rates, reasons and their top combinations, unknown category values, the
        24-hour coverage strip, volume against the trailing median, the alerts, a masked sample of
        quarantined rows) and an index of every day with its status and trend charts (clean volume
        against its baseline, quarantine rate per entity, p95 of duration and amount). Open them in
        a browser; no server or network is needed."""
        day = parse_partition_key(context.partition_key)
        page = write_day_html(prodq_storage, day)
        index = write_index_html(prodq_storage)
        return dg.MaterializeResult(
            metadata={"path": dg.MetadataValue.path(page), "index": dg.MetadataValue.path(index)}
        )

    return [validation_report, alerts, html_report]
