"""Load statistics of one entity-day, stored as a one-row Parquet partition.

These are the terms the clean and quarantine files alone cannot give back
(dropped full-row duplicates, files read, schema drift, raw null counts), so the
metrics and the validation report are built from them plus the output files.
"""

from __future__ import annotations

import json

import pyarrow as pa

from .contract import RULE_SET_VERSION

_INT_FIELDS = ("total", "clean", "quarantine", "dropped_duplicates", "malformed")
_JSON_FIELDS = (
    "duplicates",
    "by_reason",
    "by_warning",
    "top_reason_combinations",
    "schema",
    "files",
    "null_counts",
    "encoding_repaired_files",
)

STATS_SCHEMA = pa.schema(
    [("entity", pa.string()), ("rule_set_version", pa.string()), ("feed_present", pa.bool_())]
    + [(name, pa.int64()) for name in _INT_FIELDS]
    + [(name, pa.string()) for name in _JSON_FIELDS]
)


def stats_to_table(entity: str, stats: dict) -> pa.Table:
    row = {"entity": entity, "rule_set_version": RULE_SET_VERSION, "feed_present": bool(stats["feed_present"])}
    row |= {name: int(stats[name]) for name in _INT_FIELDS}
    row |= {name: json.dumps(stats.get(name, {}), sort_keys=False) for name in _JSON_FIELDS}
    return pa.Table.from_pylist([row], schema=STATS_SCHEMA)


def stats_from_table(table: pa.Table) -> dict:
    row = table.to_pylist()[0]
    return {k: (json.loads(v) if k in _JSON_FIELDS else v) for k, v in row.items()}
