"""The raw CSV feeds as partitioned external assets (the start of the lineage graph)."""

from __future__ import annotations

import dagster as dg

from ..core.contract import ENTITIES
from .groups import RAW_GROUP

def raw_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{entity}")

def raw_specs(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            raw_key(name),
            partitions_def=partitions_def,
            group_name=RAW_GROUP,
            description=(
                f"Raw {name} CSV files as delivered, under `<PRODQ_RAW_DIR>/ingest_date=D/{entity.file_prefix}*.csv[.gz]`. "
                f"Columns (text): {', '.join(entity.columns)}. Not materialized by prodq: it lands from upstream."
            ),
            kinds={"csv"},
        )
        for name, entity in ENTITIES.items()
    ]
