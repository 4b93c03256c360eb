"""The raw data contract: entities, their columns, keys and null markers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .vocab import Vocabularies

# Bump when a rule or output shape changes: every asset's code_version carries it (with
# the digest of the vocabularies in force), so partitions built under older rules or
# another vocabulary show as stale in the UI.
RULE_SET_VERSION = "2026.12.1"

NULL_MARKERS = frozenset({"", "null", "none", "nan", "n/a", "-"})


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[str, ...]
    primary_key: str
    time_column: str
    file_prefix: str
    # Without these a row cannot pass its reject rules, so a file lacking one quarantines
    # its rows as missing_column:<name>. The other columns are optional: when absent their
    # values are missing (warn level) and the drift is reported, rows are not rejected.
    required_columns: tuple[str, ...] = ()

    @property
    def time_utc_column(self) -> str:
        return f"{self.time_column}_utc"

    @property
    def duplicate_reason(self) -> str:
        return f"duplicate_{self.primary_key}"


CUSTOMERS = Entity(
    name="customers",
    columns=("customer_id", "email", "created_at", "country", "status", "ingest_date"),
    primary_key="customer_id",
    time_column="created_at",
    file_prefix="customers_raw",
    required_columns=("customer_id", "created_at"),
)
EVENTS = Entity(
    name="events",
    columns=(
        "event_id",
        "customer_id",
        "event_time",
        "event_type",
        "platform",
        "session_id",
        "duration_ms",
        "ingest_date",
    ),
    primary_key="event_id",
    time_column="event_time",
    file_prefix="events_raw",
    required_columns=("event_id", "customer_id", "event_time", "event_type"),
)
ORDERS = Entity(
    name="orders",
    columns=("order_id", "customer_id", "order_time", "amount", "currency", "status", "ingest_date"),
    primary_key="order_id",
    time_column="order_time",
    file_prefix="orders_raw",
    required_columns=("order_id", "customer_id", "order_time", "amount", "currency", "status"),
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMERS, EVENTS, ORDERS)}

MAX_DURATION_MS = 86_400_000


def code_version(vocab: Vocabularies) -> str:
    """The code version of every asset: the rule set and the vocabularies in force."""
    return f"{RULE_SET_VERSION}+vocab.{vocab.digest}"


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str) -> date:
    """A calendar day written exactly ``YYYY-MM-DD`` (no ISO week or basic forms); ValueError otherwise."""
    if not _DAY.match(text):
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    return date.fromisoformat(text)
