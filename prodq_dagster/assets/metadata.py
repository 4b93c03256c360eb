"""Materialization metadata the Dagster UI charts over partitions."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from ..core.streaming import StreamOutcome


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def clean_metadata(result: StreamOutcome) -> dict:
    s = result.stats
    metadata = {
        "dagster/row_count": s.clean,
        "dagster/column_schema": column_schema(result.clean_schema),
        "raw_rows": s.total,
        "quarantine_rate": s.quarantine_rate,
        "dropped_duplicates": s.dropped_duplicates,
        "rows_with_unknown_values": sum(u.rows for values in s.unknown_values.values() for u in values),
        "dedupe_buckets": result.buckets,
    }
    metadata |= {f"warn_{code}": count for code, count in s.by_warning.items()}
    return metadata


def quarantine_metadata(result: StreamOutcome) -> dict:
    s = result.stats
    metadata = {
        "dagster/row_count": s.quarantine,
        "dagster/column_schema": column_schema(result.quarantine_schema),
        "quarantine_rate": s.quarantine_rate,
        "malformed_rows": s.malformed,
        "top_reason_combinations": dg.MetadataValue.json(s.top_reason_combinations()),
    }
    metadata |= {f"reason_{code.replace(':', '_')}": count for code, count in s.by_reason.items()}
    return metadata


def stats_metadata(result: StreamOutcome) -> dict:
    s = result.stats
    return {"raw_rows": s.total, "conservation_ok": s.conservation_ok, "files_read": len(s.files)}
