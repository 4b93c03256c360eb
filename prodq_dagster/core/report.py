"""The per-day validation report (``validation_report.json``)."""

from __future__ import annotations

from datetime import date

from .contract import ENTITIES, RULE_SET_VERSION

REPORT_ENTITY_KEYS = (
    "total",
    "clean",
    "quarantine",
    "dropped_duplicates",
    "malformed",
    "by_reason",
    "by_warning",
    "top_reason_combinations",
    "duplicates",
    "schema",
    "files",
)


def conservation_holds(stats: dict) -> bool:
    """raw rows = clean + quarantine + dropped full-row duplicates."""
    return stats["total"] == stats["clean"] + stats["quarantine"] + stats["dropped_duplicates"]


def validation_report(day: date, run_id: str, stats: dict[str, dict]) -> dict:
    report: dict = {"ingest_date": day.isoformat(), "rule_set_version": RULE_SET_VERSION, "run_id": run_id}
    for name in ENTITIES:
        s = stats[name]
        section = {key: s[key] for key in REPORT_ENTITY_KEYS}
        section["feed_present"] = s["feed_present"]
        section["conservation_ok"] = conservation_holds(s)
        if s.get("encoding_repaired_files"):
            section["encoding_repaired_files"] = s["encoding_repaired_files"]
        report[name] = section
    return report
