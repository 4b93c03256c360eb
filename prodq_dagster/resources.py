"""Dagster resources: the pipeline settings and the partitioned-Parquet IO manager."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import dagster as dg
import pandas as pd
import pyarrow as pa

from .core import storage
from .core.config import Settings
from .core.schemas import to_pandas
from .core.vocab import Vocabularies, load_vocabularies


class ProdqConfig(dg.ConfigurableResource):
    """Paths and thresholds (defaults come from the ``PRODQ_*`` environment variables)."""

    raw_dir: str
    out_dir: str
    reports_dir: str
    hourly_max_empty_hours: int
    volume_drop_ratio: float
    volume_baseline_days: int
    volume_lookback_days: int
    freshness_deadline_hour_utc: int
    quarantine_rate_max: float
    quarantine_rate_margin: float
    unknown_value_min_share: float
    unknown_value_min_rows: int
    vocab_dir: str
    bucket_rows: int
    read_block_mb: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "ProdqConfig":
        names = set(cls.model_fields)
        return cls(**{f.name: getattr(settings, f.name) for f in fields(settings) if f.name in names})

    def settings(self) -> Settings:
        return Settings(**{name: getattr(self, name) for name in type(self).model_fields})

    def vocabularies(self) -> Vocabularies:
        return load_vocabularies(self.vocab_dir or None)


class PartitionedParquetIOManager(dg.ConfigurableIOManager):
    """Stores each asset partition as ``<base_dir>/<dataset>/ingest_date=D/part-0.parquet``.

    Writing replaces the partition's one file atomically (hidden temp file +
    ``os.replace``), so rematerializing a day never double counts and never leaves a
    stale or half-written file. Loading returns a pandas DataFrame, or an Arrow table
    when the input is annotated ``pyarrow.Table``.
    """

    base_dir: str

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | pd.DataFrame | None) -> None:
        if obj is None:
            return
        table = obj if isinstance(obj, pa.Table) else pa.Table.from_pandas(obj, preserve_index=False)
        path = storage.write_table(table, self.base_dir, context.asset_key.path[-1], context.partition_key)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pa.Table | pd.DataFrame | dict[str, pd.DataFrame]:
        dataset = context.asset_key.path[-1]
        as_arrow = context.dagster_type.typing_type is pa.Table
        keys = context.asset_partition_keys
        tables = {key: storage.read_table(self.base_dir, dataset, key) for key in keys}
        missing = [key for key, table in tables.items() if table is None]
        if missing:
            raise dg.Failure(
                description=f"{dataset} has no materialized partition for {', '.join(missing)}: materialize it first",
            )
        converted = {key: table if as_arrow else to_pandas(table) for key, table in tables.items()}
        return converted[keys[0]] if len(keys) == 1 else converted


def parse_partition_key(key: str) -> date:
    return date.fromisoformat(key)
