"""Shared helpers for the core-library tests (``test_core_*.py``).

No tests live here; the module is named ``test_core_*`` only to sit with them.
Everything goes through real CSV files in a temp dir and the real core functions.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from prodq_dagster.core.contract import CUSTOMERS, ENTITIES, EVENTS, ORDERS, Entity
from prodq_dagster.core.pipeline import EntityResult, process_entity
from prodq_dagster.core.reader import read_entity
from prodq_dagster_tests.conftest import write_csv

D = "2025-12-10"
DAY = date(2025, 12, 10)
MASTER = ("C1", "C2", "C3")


def good_customer(cid: str = "C1", **over) -> dict:
    row = {
        "customer_id": cid,
        "email": f"{cid.lower()}@example.com",
        "created_at": "2025-12-01 10:00:00",
        "country": "US",
        "status": "active",
        "ingest_date": D,
    }
    row.update(over)
    return row


def good_event(eid: str = "E1", **over) -> dict:
    row = {
        "event_id": eid,
        "customer_id": "C1",
        "event_time": "2025-12-10 10:00:00",
        "event_type": "page_view",
        "platform": "web",
        "session_id": "S1",
        "duration_ms": "1000",
        "ingest_date": D,
    }
    row.update(over)
    return row


def good_order(oid: str = "O1", **over) -> dict:
    row = {
        "order_id": oid,
        "customer_id": "C1",
        "order_time": "2025-12-10 10:00:00",
        "amount": "10.00",
        "currency": "USD",
        "status": "paid",
        "ingest_date": D,
    }
    row.update(over)
    return row


GOOD = {"customers": good_customer, "events": good_event, "orders": good_order}


def day_dir(root: Path, day: str = D) -> Path:
    return Path(root) / f"ingest_date={day}"


def master(ids=MASTER) -> pa.Array:
    return pa.array(list(ids), pa.string())


def run_rows(root: Path, entity: Entity, rows, header=None, ids=MASTER, day: str = D, name=None) -> EntityResult:
    """Write ``rows`` as the entity's CSV for ``day`` under ``root``, read and process it."""
    write_csv(root, day, entity.name, rows, header=header, name=name)
    return run_dir(root, entity, ids=ids, day=day)


def run_dir(root: Path, entity: Entity, ids=MASTER, day: str = D) -> EntityResult:
    raw = read_entity(day_dir(root, day), entity)
    return process_entity(raw, date.fromisoformat(day), master(ids))


def write_bytes(root: Path, name: str, data: bytes, day: str = D) -> Path:
    folder = day_dir(root, day)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def rows_by(table: pa.Table, key: str) -> dict:
    """Rows of a table as dicts keyed by one column (that column must be unique)."""
    out = {}
    for row in table.to_pylist():
        assert row[key] not in out, f"duplicate {key}={row[key]!r}"
        out[row[key]] = row
    return out


def conserved(stats: dict) -> bool:
    return stats["total"] == stats["clean"] + stats["quarantine"] + stats["dropped_duplicates"]


__all__ = [
    "CUSTOMERS", "ENTITIES", "EVENTS", "ORDERS", "D", "DAY", "MASTER", "GOOD",
    "good_customer", "good_event", "good_order", "day_dir", "master", "run_rows", "run_dir",
    "write_bytes", "rows_by", "conserved", "write_csv",
]
