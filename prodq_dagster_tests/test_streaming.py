"""The bounded-memory path: its outputs do not depend on the read block or dedupe bucket size."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prodq_dagster.core.contract import CUSTOMERS, EVENTS, ORDERS
from prodq_dagster.core.storage import Store, open_store, partition_file
from prodq_dagster.core.streaming import StreamOutcome, stream_entity
from prodq_dagster.resources import DATASETS
from prodq_dagster_tests.test_core_support import VOCAB, break_event_contract

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import generate_data  # noqa: E402

DAY = "2025-12-10"


@pytest.fixture(scope="module")
def raw_day(tmp_path_factory) -> Store:
    """The raw store of one generated day."""
    root = tmp_path_factory.mktemp("raw")
    generate_data.generate(root, date.fromisoformat(DAY), date.fromisoformat(DAY), customers=300, events=20_000, orders=3_000)
    return open_store(str(root))


def _file(kind: str, entity) -> str:
    return partition_file(DATASETS[f"{kind}_{entity.name}"], DAY)


def _publish(outcome: StreamOutcome, out: Path, entity) -> None:
    """Publish an outcome's staged files as the IO manager does."""
    store = open_store(str(out))
    store.publish(outcome.clean, _file("clean", entity))
    store.publish(outcome.quarantine, _file("quarantine", entity))


def _published(out: Path, entity) -> tuple[pa.Table, pa.Table]:
    return tuple(pq.read_table(out / _file(kind, entity)) for kind in ("clean", "quarantine"))


def _master(raw_day: Store, out: Path) -> pa.Array:
    _publish(stream_entity(raw_day, CUSTOMERS, date.fromisoformat(DAY), None, VOCAB, open_store(str(out))), out, CUSTOMERS)
    return _published(out, CUSTOMERS)[0].column("customer_id").combine_chunks()


@pytest.mark.parametrize("entity", [EVENTS, ORDERS, CUSTOMERS], ids=lambda e: e.name)
def test_outputs_do_not_depend_on_block_or_bucket_size(raw_day, tmp_path, entity):
    master = _master(raw_day, tmp_path / "master")
    whole = stream_entity(raw_day, entity, date.fromisoformat(DAY), master, VOCAB, open_store(str(tmp_path / "whole")))
    _publish(whole, tmp_path / "whole", entity)
    assert whole.buckets == 1
    # Tiny blocks and buckets: many read blocks and many buckets for one day.
    bucket_rows = 50 if entity is CUSTOMERS else 1_500
    small = stream_entity(
        raw_day, entity, date.fromisoformat(DAY), master, VOCAB, open_store(str(tmp_path / "small")), bucket_rows=bucket_rows, block_bytes=16 << 10
    )
    _publish(small, tmp_path / "small", entity)
    assert small.buckets >= 3
    for expected, got in zip(_published(tmp_path / "whole", entity), _published(tmp_path / "small", entity)):
        assert got.equals(expected)
    assert small.stats == whole.stats


def test_duplicate_ids_split_across_blocks_are_deduped(tmp_path):
    folder = tmp_path / "raw" / f"ingest_date={DAY}"
    folder.mkdir(parents=True)
    header = ",".join(EVENTS.columns)
    good = "E{0:05d},C1,2025-12-10 10:00:00,page_view,web,S{0},100,2025-12-10"
    lines = [good.format(i) for i in range(3000)]
    lines.append("E00007,C1,2025-12-10 11:00:00,page_view,web,,100,2025-12-10")  # loser: no session, last block
    lines.insert(0, "E02999,C1,2025-12-10 10:00:00,page_view,web,S2999,100,2025-12-10")  # full-row copy, first block
    (folder / "events_raw.csv").write_text(header + "\n" + "\n".join(lines) + "\n")
    outcome = stream_entity(
        open_store(str(tmp_path / "raw")), EVENTS, date.fromisoformat(DAY), pa.array(["C1"]), VOCAB, open_store(str(tmp_path / "out")),
        bucket_rows=500, block_bytes=8 << 10,
    )  # fmt: skip
    _publish(outcome, tmp_path / "out", EVENTS)
    clean, quarantine = _published(tmp_path / "out", EVENTS)
    assert clean.num_rows == 3000 and clean.column("event_id").to_pylist() == sorted(clean.column("event_id").to_pylist())
    assert quarantine.column("reject_reason").to_pylist() == ["duplicate_event_id"]
    assert quarantine.column("source_line").to_pylist() == [3003]
    assert outcome.stats.dropped_duplicates == 1
    assert outcome.stats.total == 3002


def test_contract_failure_publishes_nothing(raw_day, tmp_path, monkeypatch):
    master = _master(raw_day, tmp_path / "master")
    break_event_contract(monkeypatch)
    out = tmp_path / "out"
    outcome = stream_entity(raw_day, EVENTS, date.fromisoformat(DAY), master, VOCAB, open_store(str(out)), bucket_rows=5_000)
    assert not outcome.contract.passed
    # Nothing to publish: the staged files were deleted, and nothing else was left behind.
    assert outcome.clean is None and outcome.quarantine is None
    assert [p for p in out.rglob("*") if p.is_file()] == []
