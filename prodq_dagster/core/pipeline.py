"""Process one dedupe bucket of an entity-day: raw text -> evaluated rows -> dedupe -> clean / quarantine.

``split_entity`` stops before the clean take, so that the streaming path
(``streaming.py``, its only caller) makes that take in its writing thread. The result
carries the quarantine table, the clean rows and the load statistics (conservation
terms, reason counts, schema drift, unknown values) that metrics and the validation
report are built from.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import dedupe
from . import normalize as nz
from .contract import Entity
from .evaluate import evaluate
from .gather import take_rows
from .outputs import CLEAN_SCHEMAS, QUARANTINE_SCHEMAS
from .reader import RawData
from .rules import Action, rules_for
from .stats import EntityStats
from .vocab import Vocabularies

# Codes that come from reading, not from evaluating a parsed row.
_READ_CODES = ("malformed_row", "missing_column")


@dataclass
class EntityResult:
    """The outputs of one entity-day and the numbers that describe how they came about."""

    entity: str
    clean: pa.Table
    quarantine: pa.Table
    stats: EntityStats


def _reason_strings(bits: np.ndarray, codes: list[str], prefix: pa.Array | None = None) -> pa.Array:
    """Turn per-row reason bitmasks into ``a|b|c`` strings (null when no bit is set).

    Strings are built once per distinct combination, not once per row; without a
    prefix the result stays dictionary-encoded over those combinations.
    """
    inverse, uniques = pd.factorize(bits)
    texts = ["|".join(c for i, c in enumerate(codes) if u >> i & 1) or None for u in uniques.tolist()]
    out = nz.with_dictionary(pa.array(inverse.astype(np.int32)), pa.array(texts, pa.string()))
    if prefix is not None:
        out = out.cast(pa.string())
        joined = pc.binary_join_element_wise(prefix, "|", out, "")  # null unless both present
        out = pc.coalesce(joined, prefix, out)
    return out


def _bits(reasons: dict[str, np.ndarray], codes: list[str], n: int) -> np.ndarray:
    bits = np.zeros(n, dtype=np.uint64)
    for i, code in enumerate(codes):
        if code in reasons:
            bits |= reasons[code].astype(np.uint64) << np.uint64(i)
    return bits


def combination_counts(reason_strings: pa.Array) -> dict[str, int]:
    """Count of each distinct ``reject_reason`` value."""
    if len(reason_strings) == 0:
        return {}
    return {d["values"]: d["counts"] for d in pc.value_counts(reason_strings.drop_null()).to_pylist()}


def _malformed_quarantine(raw: RawData) -> pa.Table:
    n = raw.malformed.num_rows
    schema = QUARANTINE_SCHEMAS[raw.entity.name]
    columns = {name: pa.nulls(n, schema.field(name).type) for name in schema.names}
    columns.update(
        reject_reason=pa.array(["malformed_row"] * n, pa.string()),
        source_file=raw.malformed.column("source_file"),
        source_line=raw.malformed.column("source_line"),
        raw_text=raw.malformed.column("raw_text"),
    )
    table = pa.table(columns, schema=schema)
    # Ordered by content, so shuffled input gives the same file.
    return table.sort_by([("raw_text", "ascending"), ("source_file", "ascending"), ("source_line", "ascending")])


@dataclass
class SplitEntity:
    """One entity-day decided row by row, before its clean table is built.

    ``result`` puts the clean rows in primary-key order (the sort made for dedupe) with
    one take, which filters and sorts together. The streaming path calls it in the
    thread that validates and writes, so evaluating the next bucket does not wait for it.
    """

    entity: str
    clean_columns: pa.Table
    clean_rows: np.ndarray
    quarantine: pa.Table
    stats: EntityStats

    def result(self) -> EntityResult:
        clean = take_rows(self.clean_columns, self.clean_rows).cast(CLEAN_SCHEMAS[self.entity])
        return EntityResult(self.entity, clean, self.quarantine, self.stats)


def split_entity(raw: RawData, day: date, master_ids: pa.Array | None, vocab: Vocabularies) -> SplitEntity:
    """Evaluate and dedupe one entity-day: the quarantine table, the clean rows and the stats."""
    entity: Entity = raw.entity
    table = raw.table
    n = table.num_rows
    contract = list(entity.columns)

    if master_ids is None:
        master_ids = pa.array([], pa.string())
    # pyarrow kernels release the GIL: sorting the keys and comparing the rows of repeated
    # keys overlap with evaluating the rules.
    def group_and_compare() -> tuple[dedupe.KeyGroups, dedupe.RepeatedRows]:
        groups = dedupe.KeyGroups.of(pc.utf8_trim_whitespace(table.column(entity.primary_key).combine_chunks()))
        return groups, dedupe.RepeatedRows.of(table, [*contract, "extra_key"], groups)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending_groups = pool.submit(group_and_compare)
        ev = evaluate(entity, table, day, master_ids, vocab)
        groups, repeated = pending_groups.result()
    dropped = repeated.dropped
    reject_codes = [r.code for r in rules_for(entity.name, Action.REJECT) if r.code not in _READ_CODES]
    warn_codes = [r.code for r in rules_for(entity.name, Action.WARN)]
    missing_cols = table.column("missing_columns").combine_chunks()
    reject_bits = _bits(ev.reasons, reject_codes, n)
    has_reject = (reject_bits != 0) | pc.is_valid(missing_cols).to_numpy(zero_copy_only=False)

    pk = ev.columns[entity.primary_key]
    candidates = pc.is_valid(pk).to_numpy(zero_copy_only=False) & ~dropped
    losers = dedupe.id_losers(groups, repeated, candidates, [~has_reject] + ev.rank_keys)
    reject_bits |= losers.astype(np.uint64) << np.uint64(reject_codes.index(entity.duplicate_reason))
    is_bad = (has_reject | losers) & ~dropped
    is_good = ~(has_reject | losers | dropped)

    warn_bits = _bits(ev.reasons, warn_codes, n)
    clean_cols = {name: arr for name, arr in ev.columns.items()}
    clean_cols["warn_reason"] = _reason_strings(warn_bits, warn_codes)
    clean_rows = groups.order[is_good[groups.order]]
    bad = pa.array(is_bad)
    # Built for the quarantined rows only (a few percent of the bucket).
    reasons = _reason_strings(reject_bits[is_bad], reject_codes, prefix=missing_cols.filter(bad))
    quarantine = _quarantine_table(entity, table.filter(bad), reasons, pk.filter(bad))
    quarantine = pa.concat_tables([_malformed_quarantine(raw), quarantine])

    kept = ~dropped
    stats = EntityStats(
        entity=entity.name,
        feed_present=raw.feed_present,
        files=list(raw.files),
        total=n + raw.malformed.num_rows,
        clean=len(clean_rows),
        quarantine=quarantine.num_rows,
        dropped_duplicates=int(dropped.sum()),
        malformed=raw.malformed.num_rows,
        id_duplicates=int(losers.sum()),
        reason_combinations=combination_counts(quarantine.column("reject_reason").combine_chunks()),
        by_warning={code: int(ev.reasons[code][is_good].sum()) for code in warn_codes},
        null_counts={name: int((mask & kept).sum()) for name, mask in ev.missing.items()},
        missing_columns=list(raw.missing_columns),
        unmatched_headers=dict(raw.unmatched_headers),
        extra_columns=list(raw.extra_columns),
        encoding_repaired_files=list(raw.repaired_encoding_files),
        unknown_values={column: found for column, lookup in ev.categories.items() if (found := lookup.unknown_values(kept))},
    )
    return SplitEntity(entity.name, pa.table(clean_cols), clean_rows, quarantine, stats)


def _quarantine_table(entity: Entity, rows: pa.Table, reasons: pa.Array, pk: pa.Array) -> pa.Table:
    schema = QUARANTINE_SCHEMAS[entity.name]
    n = rows.num_rows
    columns = {}
    for name in entity.columns:
        columns["ingest_date_raw" if name == "ingest_date" else name] = rows.column(name)
    columns.update(
        extra_columns=rows.column("extra_columns"),
        reject_reason=reasons,
        source_file=rows.column("source_file").cast(pa.string()),  # dictionary-encoded when spilled
        source_line=rows.column("source_line"),
        raw_text=pa.nulls(n, pa.string()),
    )
    # Sorted by primary key (trimmed), then by content, so shuffled input gives the same file.
    # The content is compared as text (a string sort releases the GIL; hashing every
    # quarantined row through Python objects did not).
    content = dedupe.row_content(rows, [*entity.columns, "extra_columns"], trim=True)
    order = pa.table({"pk": pk, "reason": reasons, "content": content})
    keys = [("pk", "ascending", "at_end"), ("reason", "ascending", "at_end"), ("content", "ascending", "at_end")]
    idx = pc.sort_indices(order, sort_keys=keys)
    return pa.table(columns, schema=schema).take(idx)
