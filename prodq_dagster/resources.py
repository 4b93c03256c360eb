"""Where every asset's data lives: the ``ProdqStorage`` resource and the IO manager built on it.

``ProdqStorage`` is the one owner of locations. It maps each asset to its dataset folder
under ``PRODQ_OUT_DIR`` (``clean/events/ingest_date=D/part-0.parquet`` ...), the reports
to ``PRODQ_REPORTS_DIR/ingest_date=D/``, reads raw input under ``PRODQ_RAW_DIR`` and
publishes through ``core.storage`` (atomic on a local disk and on an object store). The
IO manager hands asset outputs to it and loads asset inputs from it; assets that look
back over earlier days (the customer master, the alert baselines) receive the resource
itself.
"""

from __future__ import annotations

import contextlib
from datetime import date

import dagster as dg
import pandas as pd
import pyarrow as pa

from .core.contract import ENTITIES
from .core.schemas import to_pandas
from .core.stats import EntityStats
from .core.storage import DAY_PREFIX, PART_FILE, StagedFile, Store, partition_file
from .settings import ProdqSettings

STATS_FILE = "stats.json"

# Asset name -> dataset folder under the output root.
DATASETS = {
    **{f"clean_{name}": f"clean/{name}" for name in ENTITIES},
    **{f"quarantine_{name}": f"quarantine/{name}" for name in ENTITIES},
    **{f"load_stats_{name}": f"metrics/load_stats/{name}" for name in ENTITIES},
    "customer_master": "master/customers",
    "daily_metrics": "metrics/daily_metrics",
    "hourly_events": "metrics/hourly_events",
}


class MissingPartitionError(Exception):
    """An upstream partition that has not been materialized."""


class ProdqStorage(dg.ConfigurableResource):
    """Raw input, Parquet outputs, load statistics and reports of prodq, on local disk or an object store."""

    settings: ProdqSettings

    @property
    def raw(self) -> Store:
        return self.settings.raw_store()

    @property
    def out(self) -> Store:
        return self.settings.out_store()

    @property
    def reports(self) -> Store:
        return self.settings.reports_store()

    # ------------------------------------------------------------------ datasets

    def location(self, asset: str, day: date | str) -> str:
        """Where an asset's partition is shown to people (local path or URL)."""
        return self.out.display(self._file(asset, day))

    def _file(self, asset: str, day: date | str) -> str:
        name = STATS_FILE if asset.startswith("load_stats_") else PART_FILE
        return partition_file(DATASETS[asset], day, name)

    def publish(self, asset: str, day: date | str, value: StagedFile | pa.Table | EntityStats) -> str:
        """Replace an asset's partition with a staged file, a table or load statistics; returns its location."""
        rel = self._file(asset, day)
        if isinstance(value, StagedFile):
            return self.out.publish(value, rel)
        if isinstance(value, EntityStats):
            return self.out.write_json(rel, value.to_dict())
        return self.out.write_table(value, rel)

    def read(self, asset: str, day: date | str, columns: list[str] | None = None, dictionary_columns: list[str] | None = None) -> pa.Table:
        """One partition of an asset (only ``columns`` when given); MissingPartitionError when absent."""
        table = self.out.read_table(self._file(asset, day), columns=columns, dictionary_columns=dictionary_columns)
        if table is None:
            raise MissingPartitionError(_missing(asset, day))
        return table

    def read_days(self, asset: str, days: list[date], columns: list[str] | None = None) -> dict[date, pa.Table]:
        """The partitions of ``days`` that exist (look-backs skip days that were never materialized)."""
        written = set(self.written_days(asset))
        found = {day: self.out.read_table(self._file(asset, day), columns=columns) for day in days if day in written}
        return {day: table for day, table in found.items() if table is not None}

    def head(self, asset: str, day: date | str, rows: int) -> pa.Table | None:
        """The first ``rows`` rows of a partition (None when it has not been written)."""
        return self.out.read_head(self._file(asset, day), rows)

    def read_stats(self, entity: str, day: date | str) -> EntityStats:
        data = self.out.read_json(self._file(f"load_stats_{entity}", day))
        if data is None:
            raise MissingPartitionError(_missing(f"load_stats_{entity}", day))
        return EntityStats.from_dict(data)

    def written_days(self, asset: str) -> list[date]:
        return self.out.written_days(DATASETS[asset])

    # ------------------------------------------------------------------ reports and state

    def write_report(self, day: date | str, name: str, document: dict) -> str:
        return self.reports.write_json(f"{DAY_PREFIX}{day}/{name}", document)

    def write_report_bytes(self, day: date | str, name: str, data: bytes) -> str:
        return self.reports.write_bytes(f"{DAY_PREFIX}{day}/{name}", data)

    def read_report(self, day: date | str, name: str) -> dict | None:
        return self.reports.read_json(f"{DAY_PREFIX}{day}/{name}")

    @contextlib.contextmanager
    def partition_lock(self, day: date):
        """Keep two processes of this machine from writing one day's partitions at the same time."""
        with self.out.lock(f"ingest_date={day.isoformat()}", self.settings.local_lock_dir()):
            yield


def _missing(asset: str, day: date | str) -> str:
    return f"{asset} has no materialized partition for {day}: materialize it first"


class ProdqIOManager(dg.ConfigurableIOManager):
    """Stores each asset partition through ``ProdqStorage`` and loads it back.

    Outputs are staged Parquet files (the streaming entity steps), Arrow tables or load
    statistics; each replaces its partition whole, so re-materializing a day never double
    counts. Inputs load as pandas DataFrames, as Arrow tables when the input is annotated
    ``pyarrow.Table`` (only the ``columns`` listed in the input's metadata), or as
    ``EntityStats``.
    """

    storage: ProdqStorage

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        if isinstance(obj, pd.DataFrame):
            obj = pa.Table.from_pandas(obj, preserve_index=False)
        location = self.storage.publish(context.asset_key.path[-1], context.partition_key, obj)
        context.add_output_metadata({"path": dg.MetadataValue.path(location)})

    def load_input(self, context: dg.InputContext):
        asset = context.asset_key.path[-1]
        kind = context.dagster_type.typing_type
        metadata = context.definition_metadata or {}
        loaded = {}
        for key in context.asset_partition_keys:
            try:
                if kind is EntityStats:
                    loaded[key] = self.storage.read_stats(asset.removeprefix("load_stats_"), key)
                    continue
                table = self.storage.read(asset, key, metadata.get("columns"), metadata.get("dictionary_columns"))
            except MissingPartitionError as exc:
                raise dg.Failure(description=str(exc)) from None
            loaded[key] = table if kind is pa.Table else to_pandas(table)
        return next(iter(loaded.values())) if len(loaded) == 1 else loaded


def parse_partition_key(key: str) -> date:
    return date.fromisoformat(key)
