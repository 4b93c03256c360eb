"""Asset check names and the conversion of core check outcomes into Dagster check results.

Check names are module constants so tests, the UI and the docs agree on them.
"""

from __future__ import annotations

import dagster as dg

from .core import alerts as core_alerts
from .core.schemas import ContractResult
from .core.stats import TOP_UNKNOWN_VALUES, EntityStats

CONTRACT_CHECK = "pandera_contract"
CONSERVATION_CHECK = "row_conservation"
SCHEMA_DRIFT_CHECK = "schema_drift"
UNKNOWN_VALUES_CHECK = "unknown_category_values"
MASTER_HISTORY_CHECK = "master_history_complete"
HOURLY_COVERAGE_CHECK = core_alerts.HOURLY_COVERAGE
VOLUME_DROP_CHECK = core_alerts.VOLUME_DROP
MISSING_FEED_CHECK = core_alerts.MISSING_FEED
QUARANTINE_RATE_CHECK = core_alerts.QUARANTINE_RATE
FRESHNESS_CHECK = "raw_partition_freshness"
# One check on the alerts asset per alert type, named after it.
ALERT_CHECKS = core_alerts.ALERT_TYPES


def contract_check_result(asset_key: str, result: ContractResult) -> dg.AssetCheckResult:
    metadata: dict = {"rows_validated": result.rows, "failure_count": result.failure_count}
    if not result.passed:
        metadata["failures_by_check"] = dg.MetadataValue.json(result.failures_by_check)
        metadata["failure_sample"] = dg.MetadataValue.json(result.sample)
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=CONTRACT_CHECK,
        passed=result.passed,
        metadata=metadata,
        description=None if result.passed else f"{result.failure_count} contract failure(s); nothing was written",
    )


def conservation_check_result(asset_key: str, stats: EntityStats) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=CONSERVATION_CHECK,
        passed=stats.conservation_ok,
        metadata={
            "raw_rows": stats.total,
            "clean_rows": stats.clean,
            "quarantine_rows": stats.quarantine,
            "dropped_duplicates": stats.dropped_duplicates,
            "malformed_rows": stats.malformed,
        },
    )


def schema_drift_check_result(asset_key: str, stats: EntityStats) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=SCHEMA_DRIFT_CHECK,
        passed=not stats.missing_columns and not stats.extra_columns and not stats.unmatched_headers,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "missing_columns": dg.MetadataValue.json(stats.missing_columns),
            "extra_columns": dg.MetadataValue.json(stats.extra_columns),
            "unmatched_headers": dg.MetadataValue.json(stats.unmatched_headers),
        },
    )


def unknown_values_check_result(asset_key: str, stats: EntityStats, policy: core_alerts.AlertPolicy) -> dg.AssetCheckResult:
    raised = core_alerts.unknown_category_values(stats.entity, stats, policy)
    top = {
        column: [{"value": u.value, "rows": u.rows, "spellings": u.spellings} for u in values[:TOP_UNKNOWN_VALUES]]
        for column, values in stats.unknown_values.items()
    }
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=UNKNOWN_VALUES_CHECK,
        passed=not raised,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unknown_values_over_threshold": len(raised),
            "rows_with_unknown_values": sum(u.rows for values in stats.unknown_values.values() for u in values),
            "top_unknown_values": dg.MetadataValue.json(top),
        },
        description="; ".join(a["message"] for a in raised) or None,
    )


def master_history_check_result(gaps: list) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=MASTER_HISTORY_CHECK,
        passed=not gaps,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_customers_days": dg.MetadataValue.json([d.isoformat() for d in gaps])},
        description=(
            f"{len(gaps)} earlier raw customers day(s) have no clean_customers partition: materialize the customers "
            "asset for them, then this day again"
        )
        if gaps
        else None,
    )


def alert_check_severity(alert_severity: str, fail_on: str) -> dg.AssetCheckSeverity:
    """ERROR for alerts at or above the ``fail_on`` level (so a blocking check fails the run), WARN otherwise."""
    gate = core_alerts.SEVERITY_RANK.get(fail_on)
    if gate is not None and core_alerts.SEVERITY_RANK[alert_severity] >= gate:
        return dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckSeverity.WARN


def alert_check_results(asset_key: str, document: dict, fail_on: str) -> list[dg.AssetCheckResult]:
    """One check per alert type: failed when the day raised that alert."""
    results = []
    for check in ALERT_CHECKS:
        raised = [a for a in document["alerts"] if a["type"] == check]
        skipped = [s for s in document["skipped"] if s["type"] == check]
        metadata: dict = {"alerts_raised": len(raised)}
        if raised:
            metadata["details"] = dg.MetadataValue.json([a["details"] for a in raised])
        if skipped:
            metadata["skipped_reason"] = "; ".join(s["reason"] for s in skipped)
        worst = core_alerts.worst_severity({"alerts": raised})
        results.append(
            dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=check,
                passed=not raised,
                severity=alert_check_severity(worst, fail_on) if worst else dg.AssetCheckSeverity.WARN,
                metadata=metadata,
                description="; ".join(a["message"] for a in raised) or None,
            )
        )
    return results
