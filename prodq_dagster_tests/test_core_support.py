"""Shared helpers for the core-library tests (``test_core_*.py``).

No tests live here; the module is named ``test_core_*`` only to sit with them.
Everything goes through real CSV files in a temp dir and the real core functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from prodq_dagster.core import storage
from prodq_dagster.core.contract import CUSTOMERS, ENTITIES, EVENTS, ORDERS, Entity
from prodq_dagster.core.schemas import ContractResult
from prodq_dagster.core.stats import EntityStats
from prodq_dagster.core.streaming import stream_entity
from prodq_dagster.core.vocab import load_vocabularies
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


VOCAB = load_vocabularies()
# Small read blocks and dedupe buckets, so even small test files take the multi-block,
# multi-bucket route of the shipped streaming path.
TEST_BLOCK_BYTES = 1 << 12
TEST_BUCKET_ROWS = 64


@dataclass
class EntityResult:
    """What ``stream_entity`` staged for one entity-day, read back from its Parquet files."""

    clean: pa.Table | None
    quarantine: pa.Table | None
    stats: EntityStats
    contract: ContractResult

    @property
    def entity(self) -> str:
        return self.stats.entity


def run_dir(
    root: Path,
    entity: Entity,
    ids=MASTER,
    day: str = D,
    vocab=VOCAB,
    block_bytes: int = TEST_BLOCK_BYTES,
    bucket_rows: int = TEST_BUCKET_ROWS,
) -> EntityResult:
    """Process one entity-day through the shipped streaming path and read back the files it staged."""
    out = storage.open_store(str(Path(root) / "_out"))
    outcome = stream_entity(
        storage.open_store(str(root)), entity, date.fromisoformat(day), master(ids), vocab, out,
        bucket_rows=bucket_rows, block_bytes=block_bytes,
    )  # fmt: skip

    def staged(file) -> pa.Table | None:
        return pq.read_table(out.path(file.temp)) if file is not None else None

    result = EntityResult(staged(outcome.clean), staged(outcome.quarantine), outcome.stats, outcome.contract)
    outcome.discard()
    return result


def break_event_contract(monkeypatch) -> None:
    """Make the clean-events contract refuse ``page_view`` (which the rules accept), so a
    generated day fails the contract the way a pipeline bug would."""
    import pandera.pandas as pandera

    from prodq_dagster.core import schemas

    real = schemas._build_contracts

    def build(vocab):
        contracts = dict(real(vocab))
        allowed = [t for t in vocab.event_type.canonical if t != "page_view"]
        contracts["events"] = contracts["events"].update_column("event_type", checks=[pandera.Check.isin(allowed)])
        return contracts

    monkeypatch.setattr(schemas, "_build_contracts", build)
    monkeypatch.setattr(schemas, "_CONTRACTS", {})


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


def conserved(stats: EntityStats) -> bool:
    return stats.total == stats.clean + stats.quarantine + stats.dropped_duplicates


__all__ = [
    "CUSTOMERS", "ENTITIES", "EVENTS", "ORDERS", "D", "DAY", "MASTER", "GOOD",
    "good_customer", "good_event", "good_order", "day_dir", "master", "run_rows", "run_dir",
    "write_bytes", "rows_by", "conserved", "write_csv", "VOCAB", "EntityResult", "break_event_contract",
]
