"""Pandera contracts of the clean outputs, and their evaluation as failure counts + samples.

These schemas are the promise made to every reader of ``clean/``: types, non-null
keys, unique ids, canonical categories and ranges. Only vectorized built-in
checks are used. ``validate_clean`` never raises on a contract failure: it
returns the failures as data (counts per column and check, a bounded sample with
e-mails masked) for the asset check to report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
import pandera.pandas as pa_schema
import pyarrow as pa
import pyarrow.compute as pc

from .contract import MAX_DURATION_MS
from .normalize import MONEY_TYPE
from .outputs import COLUMN_DESCRIPTIONS
from .privacy import mask_email_text
from .vocab import Vocabularies, Vocabulary

SAMPLE_LIMIT = 20
TS = "datetime64[us, UTC]"
MONEY = pd.ArrowDtype(MONEY_TYPE)


def _unique_ascending(keys: pd.Series) -> pd.Series:
    """True where a key is greater than the one before it.

    Clean files are sorted by primary key, so this one O(n) comparison proves the keys
    unique (and the order promised) at a fraction of the cost of a hash-based
    ``unique=True`` check, which was the most expensive part of the contract.
    """
    values = pa.array(keys, type=pa.string(), from_pandas=True)  # zero-copy for Arrow-backed strings
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) == 0:
        return pd.Series(np.zeros(0, dtype=bool), index=keys.index)
    ascending = pc.fill_null(pc.greater(values.slice(1), values.slice(0, len(values) - 1)), True)
    return pd.Series(np.concatenate(([True], ascending.to_numpy(zero_copy_only=False))), index=keys.index)


UNIQUE_ASCENDING = pa_schema.Check(_unique_ascending, name="unique_ascending")


def _key(unique: bool = False) -> pa_schema.Column:
    checks = [pa_schema.Check.str_length(min_value=1)] + ([UNIQUE_ASCENDING] if unique else [])
    return pa_schema.Column("str", nullable=False, checks=checks)


def _category(vocabulary: Vocabulary, nullable: bool) -> pa_schema.Column:
    return pa_schema.Column("str", pa_schema.Check.isin(vocabulary.canonical), nullable=nullable)


_POSITIVE_STATUSES = ("paid", "refunded", "chargeback")


def _amount_fits_status(df: pd.DataFrame) -> pd.Series:
    needs_positive = df["status"].isin(_POSITIVE_STATUSES)
    return ~needs_positive | (df["amount"] > Decimal("0")).fillna(False).astype(bool)


_CONTRACTS: dict[str, dict[str, pa_schema.DataFrameSchema]] = {}


def clean_contracts(vocab: Vocabularies) -> dict[str, pa_schema.DataFrameSchema]:
    """The contract of each clean output under the vocabularies in force (built once per digest)."""
    if vocab.digest not in _CONTRACTS:
        _CONTRACTS[vocab.digest] = _build_contracts(vocab)
    return _CONTRACTS[vocab.digest]


def _build_contracts(vocab: Vocabularies) -> dict[str, pa_schema.DataFrameSchema]:
    contracts = _contracts_without_descriptions(vocab)
    return {
        name: schema.update_columns({column: {"description": text} for column, text in COLUMN_DESCRIPTIONS[name].items()})
        for name, schema in contracts.items()
    }


def _contracts_without_descriptions(vocab: Vocabularies) -> dict[str, pa_schema.DataFrameSchema]:
    return {
        "customers": pa_schema.DataFrameSchema(
            {
                "customer_id": _key(unique=True),
                "email": pa_schema.Column("str", nullable=True),
                "email_valid": pa_schema.Column(bool),
                "created_at_utc": pa_schema.Column(TS, nullable=False),
                "country": _category(vocab.country, nullable=True),
                "status": _category(vocab.customer_status, nullable=True),
                "warn_reason": pa_schema.Column("str", nullable=True),
            },
            strict=True,
            name="clean_customers",
        ),
        "events": pa_schema.DataFrameSchema(
            {
                "event_id": _key(unique=True),
                "customer_id": _key(),
                "event_time_utc": pa_schema.Column(TS, nullable=False),
                "event_type": _category(vocab.event_type, nullable=False),
                "platform": _category(vocab.platform, nullable=True),
                "session_id": pa_schema.Column("str", nullable=True),
                "duration_ms": pa_schema.Column("Int64", pa_schema.Check.in_range(0, MAX_DURATION_MS), nullable=True),
                "warn_reason": pa_schema.Column("str", nullable=True),
            },
            strict=True,
            name="clean_events",
        ),
        "orders": pa_schema.DataFrameSchema(
            {
                "order_id": _key(unique=True),
                "customer_id": _key(),
                "order_time_utc": pa_schema.Column(TS, nullable=False),
                "amount": pa_schema.Column(MONEY, pa_schema.Check.ge(Decimal("0")), nullable=False),
                "currency": _category(vocab.currency, nullable=False),
                "status": _category(vocab.order_status, nullable=False),
                "warn_reason": pa_schema.Column("str", nullable=True),
            },
            checks=[pa_schema.Check(_amount_fits_status, name="amount_positive_for_paid_refunded_chargeback")],
            strict=True,
            name="clean_orders",
        ),
    }


@dataclass
class ContractResult:
    passed: bool
    rows: int
    failure_count: int = 0
    failures_by_check: dict[str, int] = field(default_factory=dict)  # "column: check" -> count
    sample: list[dict] = field(default_factory=list)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas the way clean data is validated and loaded (exact money, nullable ints)."""
    mapping = {MONEY_TYPE: MONEY, pa.int64(): pd.Int64Dtype()}
    return table.to_pandas(types_mapper=mapping.get)


def validate_clean(entity: str, table: pa.Table, vocab: Vocabularies) -> ContractResult:
    """Validate a clean table against its contract; failures come back as data."""
    frame = to_pandas(table)
    try:
        clean_contracts(vocab)[entity].validate(frame, lazy=True)
    except pa_schema.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        label = cases["column"].fillna(cases["schema_context"]).astype(str) + ": " + cases["check"].astype(str)
        counts = label.value_counts().sort_index()
        sample = cases.head(SAMPLE_LIMIT)
        sample_rows = [
            {
                "column": None if pd.isna(r["column"]) else str(r["column"]),
                "check": str(r["check"]),
                "failure_case": mask_email_text(str(r["failure_case"])),
                "index": None if pd.isna(r["index"]) else int(r["index"]),
            }
            for r in sample.to_dict("records")
        ]
        return ContractResult(False, len(frame), int(len(cases)), {k: int(v) for k, v in counts.items()}, sample_rows)
    return ContractResult(True, len(frame))
