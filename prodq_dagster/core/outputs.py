"""Output shapes: the Arrow schema of every clean and quarantine dataset.

The partition folder (``ingest_date=D``) supplies ``ingest_date``; files never
repeat it as a column.
"""

from __future__ import annotations

import pyarrow as pa

from .contract import ENTITIES
from .normalize import MONEY_TYPE
from .timestamps import UTC_US

CLEAN_SCHEMAS: dict[str, pa.Schema] = {
    "customers": pa.schema(
        [
            ("customer_id", pa.string()),
            ("email", pa.string()),
            ("email_valid", pa.bool_()),
            ("created_at_utc", UTC_US),
            ("country", pa.string()),
            ("status", pa.string()),
            ("warn_reason", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            ("event_id", pa.string()),
            ("customer_id", pa.string()),
            ("event_time_utc", UTC_US),
            ("event_type", pa.string()),
            ("platform", pa.string()),
            ("session_id", pa.string()),
            ("duration_ms", pa.int64()),
            ("warn_reason", pa.string()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.string()),
            ("order_time_utc", UTC_US),
            ("amount", MONEY_TYPE),
            ("currency", pa.string()),
            ("status", pa.string()),
            ("warn_reason", pa.string()),
        ]
    ),
}


def quarantine_columns(entity_name: str) -> list[str]:
    raw = [c if c != "ingest_date" else "ingest_date_raw" for c in ENTITIES[entity_name].columns]
    return raw + ["extra_columns", "reject_reason", "source_file", "source_line", "raw_text"]


QUARANTINE_SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([(c, pa.int64() if c == "source_line" else pa.string()) for c in quarantine_columns(name)])
    for name in ENTITIES
}
