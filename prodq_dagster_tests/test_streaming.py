"""The bounded-memory path: its outputs do not depend on the read block or dedupe bucket size."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prodq_dagster.core.contract import CUSTOMERS, EVENTS, ORDERS
from prodq_dagster.core.storage import partition_file
from prodq_dagster.core.streaming import stream_entity
from prodq_dagster_tests.test_core_support import VOCAB, break_event_contract

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import generate_data  # noqa: E402

DAY = "2025-12-10"


@pytest.fixture(scope="module")
def raw_day(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    generate_data.generate(root, date.fromisoformat(DAY), date.fromisoformat(DAY), customers=300, events=20_000, orders=3_000)
    return root / f"ingest_date={DAY}"


def _published(out: Path, entity) -> tuple[pa.Table, pa.Table]:
    return tuple(pq.read_table(partition_file(out, f"{kind}_{entity.name}", DAY)) for kind in ("clean", "quarantine"))


def _master(raw_day: Path, out: Path) -> pa.Array:
    stream_entity(raw_day, CUSTOMERS, date.fromisoformat(DAY), None, VOCAB, out).publish()
    return _published(out, CUSTOMERS)[0].column("customer_id").combine_chunks()


@pytest.mark.parametrize("entity", [EVENTS, ORDERS, CUSTOMERS], ids=lambda e: e.name)
def test_outputs_do_not_depend_on_block_or_bucket_size(raw_day, tmp_path, entity):
    master = _master(raw_day, tmp_path / "master")
    whole = stream_entity(raw_day, entity, date.fromisoformat(DAY), master, VOCAB, tmp_path / "whole")
    whole.publish()
    assert whole.buckets == 1
    # Tiny blocks and buckets: many read blocks and many buckets for one day.
    bucket_rows = 50 if entity is CUSTOMERS else 1_500
    small = stream_entity(raw_day, entity, date.fromisoformat(DAY), master, VOCAB, tmp_path / "small", bucket_rows=bucket_rows, block_bytes=16 << 10)
    small.publish()
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
    outcome = stream_entity(folder, EVENTS, date.fromisoformat(DAY), pa.array(["C1"]), VOCAB, tmp_path / "out", bucket_rows=500, block_bytes=8 << 10)
    outcome.publish()
    clean = pq.read_table(partition_file(tmp_path / "out", "clean_events", DAY))
    quarantine = pq.read_table(partition_file(tmp_path / "out", "quarantine_events", DAY))
    assert clean.num_rows == 3000 and clean.column("event_id").to_pylist() == sorted(clean.column("event_id").to_pylist())
    assert quarantine.column("reject_reason").to_pylist() == ["duplicate_event_id"]
    assert quarantine.column("source_line").to_pylist() == [3003]
    assert outcome.stats.dropped_duplicates == 1
    assert outcome.stats.total == 3002


def test_contract_failure_publishes_nothing(raw_day, tmp_path, monkeypatch):
    master = _master(raw_day, tmp_path / "master")
    break_event_contract(monkeypatch)
    outcome = stream_entity(raw_day, EVENTS, date.fromisoformat(DAY), master, VOCAB, tmp_path, bucket_rows=5_000)
    assert not outcome.contract.passed and not outcome.publishable
    outcome.publish()  # publishes nothing
    assert not partition_file(tmp_path, "clean_events", DAY).exists()
    assert not partition_file(tmp_path, "quarantine_events", DAY).exists()
    assert not any(p.name.startswith(".") for p in tmp_path.rglob("*") if p.is_file())
