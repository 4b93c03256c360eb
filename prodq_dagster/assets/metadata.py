"""Materialization metadata: numbers the Dagster UI charts over partitions, and Markdown tables
of the reasons and unknown values for the asset page."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from ..core.outputs import COLUMN_DESCRIPTIONS, QUARANTINE_DESCRIPTIONS
from ..core.stats import EntityStats
from ..core.streaming import StreamOutcome

TABLE_ROWS = 10


def column_schema(schema: pa.Schema, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type), description=descriptions.get(f.name)) for f in schema])


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")[:80]


def markdown_table(header: list[str], rows: list[list]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines) if rows else "_none_")


def reasons_table(stats: EntityStats) -> dg.MetadataValue:
    """The commonest reject reasons of the day with their share of the raw rows."""
    top = sorted(stats.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))[:TABLE_ROWS]
    return markdown_table(["reason", "rows", "share of raw rows"], [[code, f"{n:,}", f"{n / stats.total:.2%}" if stats.total else "-"] for code, n in top])


def unknown_values_table(stats: EntityStats) -> dg.MetadataValue:
    """The commonest raw category values no vocabulary knows."""
    rows = [
        [column, value.value, f"{value.rows:,}"]
        for column, values in sorted(stats.unknown_values.items())
        for value in values[:TABLE_ROWS]
    ]
    return markdown_table(["column", "unknown raw value", "rows"], rows[: TABLE_ROWS * 2])


def clean_metadata(result: StreamOutcome) -> dict:
    s = result.stats
    metadata = {
        "dagster/row_count": s.clean,
        "dagster/column_schema": column_schema(result.clean_schema, COLUMN_DESCRIPTIONS[s.entity]),
        "raw_rows": s.total,
        "quarantine_rate": s.quarantine_rate,
        "dropped_duplicates": s.dropped_duplicates,
        "rows_with_unknown_values": sum(u.rows for values in s.unknown_values.values() for u in values),
        "unknown_values": unknown_values_table(s),
        "dedupe_buckets": result.buckets,
    }
    metadata |= {f"warn_{code}": count for code, count in s.by_warning.items()}
    return metadata


def quarantine_metadata(result: StreamOutcome) -> dict:
    s = result.stats
    metadata = {
        "dagster/row_count": s.quarantine,
        "dagster/column_schema": column_schema(
            result.quarantine_schema,
            {name: f"raw text of {name}" for name in result.quarantine_schema.names} | QUARANTINE_DESCRIPTIONS,
        ),
        "quarantine_rate": s.quarantine_rate,
        "malformed_rows": s.malformed,
        "top_reasons": reasons_table(s),
        "top_reason_combinations": dg.MetadataValue.json(s.top_reason_combinations()),
    }
    metadata |= {f"reason_{code.replace(':', '_')}": count for code, count in s.by_reason.items()}
    return metadata


def stats_metadata(result: StreamOutcome) -> dict:
    s = result.stats
    return {"raw_rows": s.total, "conservation_ok": s.conservation_ok, "files_read": len(s.files)}
