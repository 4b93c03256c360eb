"""The rule catalogue: every reason code, the entity it applies to and its action.

The order of ``CATALOGUE`` is the order in which codes appear inside a row's
``reject_reason`` / ``warn_reason`` (``malformed_row`` first, ``duplicate_<id>`` last).
The catalogue table of docs/contract.md is generated from this list. The checks themselves live in
``evaluate.py``, one masked expression per code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Action(str, Enum):
    REJECT = "reject"
    WARN = "warn"


@dataclass(frozen=True)
class Rule:
    code: str
    entities: tuple[str, ...]
    action: Action
    description: str


_ALL = ("customers", "events", "orders")
_FACTS = ("events", "orders")

CATALOGUE: tuple[Rule, ...] = (
    Rule("malformed_row", _ALL, Action.REJECT, "line could not be parsed as a CSV record (ragged, broken quoting)"),
    Rule("missing_column", _ALL, Action.REJECT, "a required column is missing from the file (reason is missing_column:<name>; optional columns only warn)"),
    Rule("missing_customer_id", ("customers",), Action.REJECT, "customer_id is missing"),
    Rule("missing_event_id", ("events",), Action.REJECT, "event_id is missing"),
    Rule("missing_order_id", ("orders",), Action.REJECT, "order_id is missing"),
    Rule("invalid_created_at", ("customers",), Action.REJECT, "created_at is missing or not a parseable timestamp"),
    Rule("invalid_event_time", ("events",), Action.REJECT, "event_time is missing or not a parseable timestamp"),
    Rule("invalid_order_time", ("orders",), Action.REJECT, "order_time is missing or not a parseable timestamp"),
    Rule("orphan_customer_id", _FACTS, Action.REJECT, "customer_id missing or not in the customer master as of the day"),
    Rule("invalid_event_type", ("events",), Action.REJECT, "event_type missing or not in the event-type vocabulary"),
    Rule("unknown_platform", ("events",), Action.REJECT, "platform present but not in the platform vocabulary"),
    Rule("invalid_duration", ("events",), Action.REJECT, "duration_ms present but not a finite number, < 0 or > 86,400,000"),
    Rule("invalid_amount", ("orders",), Action.REJECT, "amount missing, not a finite number, or < 0"),
    Rule("invalid_currency", ("orders",), Action.REJECT, "currency missing or not in the currency vocabulary"),
    Rule("invalid_order_status", ("orders",), Action.REJECT, "status missing or not in the order-status vocabulary"),
    Rule("amount_status_mismatch", ("orders",), Action.REJECT, "paid, refunded and chargeback orders need amount > 0"),
    Rule("ingest_date_mismatch", _ALL, Action.REJECT, "ingest_date present and not equal to the partition date"),
    Rule("invalid_email", ("customers",), Action.WARN, "email missing or not shaped like an address (email_valid = false)"),
    Rule("unknown_country", ("customers",), Action.WARN, "country missing or not mappable to ISO 3166 alpha-2 (country null)"),
    Rule("unknown_customer_status", ("customers",), Action.WARN, "status missing or not in the customer-status vocabulary (status null)"),
    Rule("missing_platform", ("events",), Action.WARN, "platform missing (platform null)"),
    Rule("missing_session_id", ("events",), Action.WARN, "session_id missing"),
    Rule("missing_duration", ("events",), Action.WARN, "duration_ms missing"),
    Rule("amount_rounded", ("orders",), Action.WARN, "amount had more than two decimals and was rounded half-even to cents"),
    Rule("duplicate_customer_id", ("customers",), Action.REJECT, "another row with the same customer_id won the dedupe"),
    Rule("duplicate_event_id", ("events",), Action.REJECT, "another row with the same event_id won the dedupe"),
    Rule("duplicate_order_id", ("orders",), Action.REJECT, "another row with the same order_id won the dedupe"),
)

RULES: dict[str, Rule] = {r.code: r for r in CATALOGUE}
CODE_ORDER: dict[str, int] = {r.code: i for i, r in enumerate(CATALOGUE)}


def rules_for(entity: str, action: Action | None = None) -> list[Rule]:
    """The catalogue rules of one entity, optionally of one action, in catalogue order."""
    return [r for r in CATALOGUE if entity in r.entities and (action is None or r.action == action)]


def split_reasons(value: str) -> list[str]:
    """Split a ``reject_reason`` value into its single codes."""
    return [part for part in value.split("|") if part]
