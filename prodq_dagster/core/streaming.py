"""Bounded-memory processing of one entity-day, however large the files.

The raw files are read in blocks (``reader.iter_file_blocks``; the next block is
parsed in a thread while this one is routed) and every record gets a bucket from
its primary key: buckets are key ranges (split points from a sample of keys), and
rows without a key join the last range, where they sort last; each bucket is spilled
to its own Arrow IPC file and read back through a memory map. Every row of one key
lands in one bucket, so dedupe inside a bucket is exact, and buckets in key order,
each sorted by ``split_entity``, give files sorted by primary key. One bucket is evaluated while
the previous one is put in key order, validated and written: memory is bounded by a few
blocks and buckets, not by the day. The result is identical to processing the whole day in
memory (a test compares them).
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from . import normalize as nz
from .contract import Entity
from .outputs import CLEAN_SCHEMAS, QUARANTINE_SCHEMAS
from .pipeline import split_entity
from .reader import (
    FileHeader,
    RawData,
    empty_malformed,
    empty_records,
    day_folder,
    find_files,
    iter_file_blocks,
)
from .schemas import SAMPLE_LIMIT, ContractResult, validate_clean
from .stats import EntityStats
from .vocab import Vocabularies
from .storage import StagedFile, Store

SAMPLE_LINES = 4000
# Each sampled line is one ranged read; on an object store that is a request, so fewer.
REMOTE_SAMPLE_LINES = 256


@dataclass
class StreamOutcome:
    """One processed entity-day. When the contract and conservation held, its clean and
    quarantine rows are in staged files (written whole, not yet visible) that the caller
    publishes or discards; otherwise there are none."""

    stats: EntityStats
    contract: ContractResult
    clean_schema: pa.Schema
    quarantine_schema: pa.Schema
    buckets: int = 1
    clean: StagedFile | None = None
    quarantine: StagedFile | None = None

    def discard(self) -> None:
        """Delete the staged files: the published partitions keep their previous version."""
        for staged in (self.clean, self.quarantine):
            if staged is not None:
                staged.abort()
        self.clean = self.quarantine = None


@dataclass
class _Sample:
    keys: list[str]
    line_bytes: list[int]


SAMPLE_CHUNK = 4096


def _lines_of_chunk(chunk: bytes) -> list[bytes]:
    return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")


def _sample_keys(store: Store, rel: str, key: str, rng: np.random.Generator, count: int) -> _Sample:
    """Primary keys and line lengths of lines at random offsets of a plain file (no full parse).

    The sample only balances the dedupe buckets; outputs never depend on it, so a file
    that cannot be sampled (compressed, unreadable, no such key) just gives none, and
    the reader reports what is wrong with it.
    """
    if rel.endswith(".gz"):
        return _Sample([], [])
    keys, line_bytes = [], []
    try:
        with store.open_input_file(rel) as handle:
            size = handle.size()
            head = [line for line in _lines_of_chunk(handle.read(SAMPLE_CHUNK * 16)) if line.strip()]
            header = next(csv.reader([head[0].decode("utf-8", "replace").lstrip("\ufeff")]), []) if head else []
            names = [name.strip().lower() for name in header]
            if key not in names:
                return _Sample([], [])
            key_index = names.index(key)
            for offset in np.sort(rng.integers(0, max(size, 1), count)):
                handle.seek(int(offset))
                pieces = _lines_of_chunk(handle.read(SAMPLE_CHUNK))
                if len(pieces) < 3:  # no whole line after the offset within the chunk
                    continue
                line = pieces[1]
                line_bytes.append(len(line) + 1)
                try:
                    fields = next(csv.reader([line.decode("utf-8", "replace")]))
                except (csv.Error, StopIteration):
                    continue
                if len(fields) > key_index and fields[key_index].strip():
                    keys.append(fields[key_index].strip())
    except (OSError, csv.Error, pa.ArrowInvalid):
        return _Sample([], [])
    return _Sample(keys, line_bytes)


def _bucket_count(sizes: list[int], samples: list[_Sample], bucket_rows: int) -> int:
    """Enough key-range buckets for about ``bucket_rows`` rows each (line length from the sample)."""
    line_bytes = [n for sample in samples for n in sample.line_bytes]
    mean_line = float(np.mean(line_bytes)) if line_bytes else 80.0
    return max(1, math.ceil(sum(sizes) / mean_line / bucket_rows))


def _split_points(keys: list[str], buckets: int) -> list[str]:
    """Split points for ``buckets`` full key ranges plus two half ones at the ends.

    Nothing overlaps the first bucket's processing (no write is pending yet) or the last
    bucket's validation and write (nothing is left to process), so halving those two
    buckets shortens the phases that keep one core idle; the others stay full size.
    """
    if buckets <= 1 or not keys:
        return []
    ordered = sorted(set(keys))
    points = [ordered[min(len(ordered) - 1, int((i - 0.5) * len(ordered) / buckets))] for i in range(1, buckets + 1)]
    return sorted(set(points))


def _bucket_of(keys: pa.Array, splits: list[str]) -> np.ndarray:
    """Bucket per row: i for splits[i-1] <= key < splits[i]; the last bucket for a missing key.

    Missing keys sort after every key, so the last range holds them without changing any
    file's order, and no bucket of their own costs a further pass of the rules and contract.
    """
    # int16: numpy's stable argsort of 16-bit integers (``_SpilledBuckets.add``) is a radix
    # sort, cheaper than the merge sort it uses for int32.
    bucket = np.zeros(len(keys), dtype=np.int16)
    for split in splits:
        bucket += pc.fill_null(pc.greater_equal(keys, split), True).to_numpy(zero_copy_only=False)
    return bucket


def _with_file_number(records: pa.Table, file_no: int, file_names: pa.Array) -> pa.Table:
    """``source_file`` as a 2-byte index into the day's file names instead of a string per row.

    The name repeated on every row was an eighth of the bytes spilled, copied, written
    and read back; every block shares the one dictionary, as the bucket files require.
    """
    index = pa.array(np.full(records.num_rows, file_no, dtype=np.int16))
    column = records.schema.get_field_index("source_file")
    return records.set_column(column, "source_file", pa.DictionaryArray.from_arrays(index, file_names))


def _merge_contracts(results: list[ContractResult]) -> ContractResult:
    failed = [r for r in results if not r.passed]
    rows = sum(r.rows for r in results)
    if not failed:
        return ContractResult(True, rows)
    counts: Counter = Counter()
    sample: list[dict] = []
    for r in failed:
        counts.update(r.failures_by_check)
        sample += r.sample
    return ContractResult(False, rows, sum(r.failure_count for r in failed), dict(sorted(counts.items())), sample[:SAMPLE_LIMIT])


def stream_entity(
    raw: Store,
    entity: Entity,
    day: date,
    master_ids: pa.Array | None,
    vocab: Vocabularies,
    out: Store,
    bucket_rows: int = 1_000_000,
    block_bytes: int = 64 << 20,
) -> StreamOutcome:
    """Process one entity-day of the raw store in bounded memory into staged clean and
    quarantine files of the ``out`` store.

    The files are kept only when every bucket passed the clean contract and the rows are
    conserved; otherwise they are deleted. Nothing is visible until the caller publishes them.
    """
    files = find_files(raw, day_folder(day), entity)
    listed = {e.name: max(e.size, 0) for e in raw.listdir(day_folder(day))}
    sizes = [listed.get(rel.rpartition("/")[2], 0) for rel in files]
    rng = np.random.default_rng(0)  # split points only balance memory; outputs never depend on them
    lines = SAMPLE_LINES if raw.is_local else REMOTE_SAMPLE_LINES
    samples = [_sample_keys(raw, rel, entity.primary_key, rng, lines) for rel in files]
    splits = _split_points([k for sample in samples for k in sample.keys], _bucket_count(sizes, samples, bucket_rows))

    with tempfile.TemporaryDirectory(prefix="spill-", dir=out.scratch_dir()) as spill:
        spilled = _SpilledBuckets(Path(spill))
        malformed, names_seen, repaired = [], [], []
        missing_all: set[str] = set()
        extra_all: set[str] = set()
        unmatched: dict[str, list[str]] = {}
        names = [rel.rpartition("/")[2] for rel in files]
        file_names = pa.array(names, pa.string())
        try:
            for file_no, (rel, name) in enumerate(zip(files, names)):
                blocks = _prefetched(iter_file_blocks(raw, rel, entity, block_bytes))
                header: FileHeader = next(blocks)
                if header.names:  # an empty file has no columns to compare with the contract
                    missing_all.update(header.missing)
                    extra_all.update(header.extra)
                names_seen.append(name)
                if header.unmatched:
                    unmatched[name] = header.names
                if header.repaired:
                    repaired.append(name)
                for records, bad, was_repaired in blocks:
                    malformed.append(bad)
                    if was_repaired and name not in repaired:
                        repaired.append(name)
                    if records.num_rows == 0:
                        continue
                    keys = nz.text(records.column(entity.primary_key).combine_chunks())
                    spilled.add(_with_file_number(records, file_no, file_names), _bucket_of(keys, splits))
        finally:
            bucket_ids = spilled.close() or [0]

        all_malformed = pa.concat_tables(malformed) if malformed else empty_malformed()
        parts, contracts = [], []
        clean_out = out.stage(CLEAN_SCHEMAS[entity.name])
        quarantine_out = out.stage(QUARANTINE_SCHEMAS[entity.name])

        def run_bucket(i: int, b: int):
            table = spilled.read(b) if spilled.writers else empty_records(entity)
            raw = RawData(
                entity,
                table,
                all_malformed if i == 0 else empty_malformed(),
                names_seen,
                missing_columns=[c for c in entity.columns if c in missing_all],
                extra_columns=sorted(extra_all),
                repaired_encoding_files=repaired,
                unmatched_headers=unmatched,
            )
            return split_entity(raw, day, master_ids, vocab)

        def consume(future) -> None:
            result = future.result().result()  # the clean take runs here, beside the next bucket
            # The contract is checked while the same rows are written (publishing waits for both).
            contract = checker.submit(validate_clean, entity.name, result.clean, vocab)
            parts.append(result.stats)
            clean_out.write(result.clean)
            quarantine_out.write(result.quarantine)
            contracts.append(contract.result())

        # One worker processes the next bucket while this thread validates and writes the
        # previous one (pyarrow releases the GIL), so at most two buckets are in memory.
        # More buckets side by side would not add speed on two cores (each bucket already
        # overlaps its timestamp parsing and key sort) and would cost memory.
        try:
            with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=1) as checker:
                pending: deque = deque()
                for i, b in enumerate(bucket_ids):
                    pending.append(pool.submit(run_bucket, i, b))
                    # The next bucket is queued before this thread writes a finished one, so
                    # the worker never idles during a write.
                    if len(pending) > 1:
                        consume(pending.popleft())
                while pending:
                    consume(pending.popleft())
            clean_out.finish()
            quarantine_out.finish()
        except BaseException:
            clean_out.abort()
            quarantine_out.abort()
            raise
        contract = _merge_contracts(contracts)
        stats = EntityStats.merge(parts)
        outcome = StreamOutcome(stats, contract, CLEAN_SCHEMAS[entity.name], QUARANTINE_SCHEMAS[entity.name], len(bucket_ids))
        if contract.passed and stats.conservation_ok:
            outcome.clean, outcome.quarantine = clean_out, quarantine_out
        else:
            clean_out.abort()
            quarantine_out.abort()
    return outcome


class _SpilledBuckets:
    """Buckets spilled as Arrow IPC files, one per bucket, filled block by block.

    Each read block is grouped by bucket with one ``take`` and each bucket's rows are
    appended to its file as a zero-copy slice; a bucket is read back through a memory
    map. Every row is copied once on the way in and each file is read once: the work
    grows with the day, not with days times buckets. A block's files are written in a
    worker thread while the caller routes the next block (pyarrow releases the GIL);
    one block is in flight at a time, so memory stays bounded.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.writers: dict[int, ipc.RecordBatchFileWriter] = {}
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending = None

    def _path(self, b: int) -> Path:
        return self.folder / f"bucket-{b:05d}.arrow"

    def add(self, records: pa.Table, bucket: np.ndarray) -> None:
        order = np.argsort(bucket, kind="stable")
        grouped = records.take(pa.array(order))
        ids, starts, counts = np.unique(bucket[order], return_index=True, return_counts=True)
        self._wait()
        self._pending = self._pool.submit(self._write, grouped, ids.tolist(), starts.tolist(), counts.tolist())

    def _write(self, grouped: pa.Table, ids: list[int], starts: list[int], counts: list[int]) -> None:
        for b, start, count in zip(ids, starts, counts):
            if b not in self.writers:
                self.writers[b] = ipc.new_file(self._path(b), grouped.schema)
            self.writers[b].write_table(grouped.slice(start, count))

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises a failed write here

    def close(self) -> list[int]:
        """Finish writing (also after a failed read); returns the bucket ids in key order."""
        try:
            self._wait()
        finally:
            self._pool.shutdown()
            for writer in self.writers.values():
                writer.close()
        return sorted(self.writers)

    def read(self, b: int) -> pa.Table:
        return ipc.open_file(pa.memory_map(str(self._path(b)))).read_all()


_END = object()


def _prefetched(items: Iterator) -> Iterator:
    """Yield the items of ``items`` while a worker thread already produces the next one.

    Reading and parsing block k+1 (I/O and pyarrow, which release the GIL) then
    overlaps with routing block k to its buckets. One item is in flight at a time.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(next, items, _END)
        while True:
            item = future.result()
            if item is _END:
                return
            future = pool.submit(next, items, _END)
            yield item
