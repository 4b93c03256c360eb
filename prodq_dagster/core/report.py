"""The per-day validation report (``validation_report.json``), built from the load statistics."""

from __future__ import annotations

from datetime import date

from .contract import ENTITIES, RULE_SET_VERSION
from .stats import TOP_UNKNOWN_VALUES, EntityStats


def entity_section(s: EntityStats) -> dict:
    """One entity's part of the report: the row accounting, why rows were rejected, what was unknown."""
    return {
        "total": s.total,
        "clean": s.clean,
        "quarantine": s.quarantine,
        "dropped_duplicates": s.dropped_duplicates,
        "malformed": s.malformed,
        "conservation_ok": s.conservation_ok,
        "feed_present": s.feed_present,
        "by_reason": s.by_reason,
        "by_warning": s.by_warning,
        "top_reason_combinations": s.top_reason_combinations(),
        "unknown_values": {
            column: [
                {"value": u.value, "rows": u.rows, "share": round(u.rows / s.total, 6) if s.total else 0.0, "spellings": u.spellings}
                for u in values[:TOP_UNKNOWN_VALUES]
            ]
            for column, values in s.unknown_values.items()
        },
        "duplicates": {"full_row": s.dropped_duplicates, "id": s.id_duplicates},
        "schema": {
            "missing_columns": s.missing_columns,
            "extra_columns": s.extra_columns,
            "unmatched_headers": s.unmatched_headers,
        },
        "files": s.files,
        "encoding_repaired_files": s.encoding_repaired_files,
    }


def validation_report(day: date, run_id: str, code_version: str, stats: dict[str, EntityStats], unmatched_files: list[str]) -> dict:
    report: dict = {
        "ingest_date": day.isoformat(),
        "rule_set_version": RULE_SET_VERSION,
        "code_version": code_version,
        "run_id": run_id,
        "unmatched_files": unmatched_files,
    }
    for name in ENTITIES:
        report[name] = entity_section(stats[name])
    return report
