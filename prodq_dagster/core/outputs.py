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


# What each clean column means, with its unit: the pandera contracts and the Dagster column
# schemas both take their descriptions from here.
_WARN = "warn-level issues of the row, codes joined by '|' (null when none)"
COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "customer key (trimmed text), unique in the partition",
        "email": "e-mail address, trimmed and lower-cased; null when missing",
        "email_valid": "true when email looks like an address (local@domain.tld)",
        "created_at_utc": "account creation time, UTC, microseconds",
        "country": "ISO 3166-1 alpha-2 country code (null when missing)",
        "status": "account state: active, inactive or banned (null when missing)",
        "warn_reason": _WARN,
    },
    "events": {
        "event_id": "event key (trimmed text), unique in the partition",
        "customer_id": "customer key; present in the customer master of the day",
        "event_time_utc": "when the event happened, UTC, microseconds",
        "event_type": "canonical event type (lower snake case, from the event_type vocabulary)",
        "platform": "client platform: ios, android or web (null when missing)",
        "session_id": "session identifier as delivered (null when missing)",
        "duration_ms": "duration of the event in integer milliseconds (null when missing)",
        "warn_reason": _WARN,
    },
    "orders": {
        "order_id": "order key (trimmed text), unique in the partition",
        "customer_id": "customer key; present in the customer master of the day",
        "order_time_utc": "when the order was placed, UTC, microseconds",
        "amount": "order amount in the order's currency, exact decimal(18,2), never negative",
        "currency": "ISO 4217 currency code",
        "status": "payment outcome: paid, failed, refunded or chargeback",
        "warn_reason": _WARN,
    },
}
QUARANTINE_DESCRIPTIONS = {
    "extra_columns": "columns the contract does not know, as a JSON object of their raw text",
    "reject_reason": "every reject reason code of the row, joined by '|'",
    "source_file": "raw file the row came from",
    "source_line": "physical line number of the row in its file (1 = header)",
    "raw_text": "the raw line, for malformed lines only",
}


def quarantine_columns(entity_name: str) -> list[str]:
    raw = [c if c != "ingest_date" else "ingest_date_raw" for c in ENTITIES[entity_name].columns]
    return raw + ["extra_columns", "reject_reason", "source_file", "source_line", "raw_text"]


QUARANTINE_SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([(c, pa.int64() if c == "source_line" else pa.string()) for c in quarantine_columns(name)])
    for name in ENTITIES
}
