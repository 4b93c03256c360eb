"""Asset check names and the conversion of core check outcomes into Dagster check results.

Check names are module constants so tests, the UI and the docs agree on them.
"""

from __future__ import annotations

import dagster as dg

from .core import alerts as core_alerts
from .core.schemas import ContractResult

CONTRACT_CHECK = "pandera_contract"
CONSERVATION_CHECK = "row_conservation"
SCHEMA_DRIFT_CHECK = "schema_drift"
HOURLY_COVERAGE_CHECK = core_alerts.HOURLY_COVERAGE
VOLUME_DROP_CHECK = core_alerts.VOLUME_DROP
MISSING_FEED_CHECK = core_alerts.MISSING_FEED
FRESHNESS_CHECK = "raw_partition_freshness"
ALERT_CHECKS = (HOURLY_COVERAGE_CHECK, VOLUME_DROP_CHECK, MISSING_FEED_CHECK)


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


def conservation_check_result(asset_key: str, stats: dict) -> dg.AssetCheckResult:
    balance = stats["clean"] + stats["quarantine"] + stats["dropped_duplicates"]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=CONSERVATION_CHECK,
        passed=stats["total"] == balance,
        metadata={
            "raw_rows": stats["total"],
            "clean_rows": stats["clean"],
            "quarantine_rows": stats["quarantine"],
            "dropped_duplicates": stats["dropped_duplicates"],
            "malformed_rows": stats["malformed"],
        },
    )


def schema_drift_check_result(asset_key: str, stats: dict) -> dg.AssetCheckResult:
    schema = stats["schema"]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=SCHEMA_DRIFT_CHECK,
        passed=not schema["missing_columns"] and not schema["extra_columns"],
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "missing_columns": dg.MetadataValue.json(schema["missing_columns"]),
            "extra_columns": dg.MetadataValue.json(schema["extra_columns"]),
        },
    )


def alert_check_results(asset_key: str, document: dict) -> list[dg.AssetCheckResult]:
    """One WARN check per alert type: failed when the day raised that alert."""
    results = []
    for check in ALERT_CHECKS:
        raised = [a for a in document["alerts"] if a["type"] == check]
        skipped = [s for s in document["skipped"] if s["type"] == check]
        metadata: dict = {"alerts_raised": len(raised)}
        if raised:
            metadata["details"] = dg.MetadataValue.json([a["details"] for a in raised])
        if skipped:
            metadata["skipped_reason"] = skipped[0]["reason"]
        results.append(
            dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=check,
                passed=not raised,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=metadata,
                description="; ".join(a["message"] for a in raised) or None,
            )
        )
    return results
