"""The customer master: every customer id that is clean on or before the day."""

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from .. import checks
from ..core.arrivals import master_history_gaps
from ..resources import ProdqStorage, parse_partition_key
from .groups import INGEST_GROUP, IO_MANAGER_KEY


def build_master_asset(partitions_def: dg.PartitionsDefinition, version: str) -> dg.AssetsDefinition:
    @dg.asset(
        name="customer_master",
        partitions_def=partitions_def,
        group_name=INGEST_GROUP,
        io_manager_key=IO_MANAGER_KEY,
        code_version=version,
        kinds={"parquet"},
        deps=[
            dg.AssetDep("clean_customers"),
            # Lineage: D's master extends D-1's, so a changed customers day makes later days stale.
            dg.AssetDep(
                "customer_master",
                partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True),
            ),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                checks.MASTER_HISTORY_CHECK,
                asset="customer_master",
                partitions_def=partitions_def,
                description="WARN when earlier days of the raw folder hold customers files that have no clean_customers "
                "partition: their customers are missing from the master, so their events and orders would be orphans.",
            )
        ],
    )
    def customer_master(context: dg.AssetExecutionContext, prodq_storage: ProdqStorage):
        """Customer ids that are clean in any customers partition on or before this day.

        Events and orders of day D check referential integrity against it. It is rebuilt
        from the clean customers partitions up to D (only their customer_id column), so it
        never sees days after D and backfills in any order give the same answer. The
        master_history_complete check lists earlier raw customers days that were never
        processed: backfill the customers asset for them, then this day again.
        """
        day = parse_partition_key(context.partition_key)
        written = prodq_storage.written_days("clean_customers")
        days = [d for d in written if d <= day]
        tables = prodq_storage.read_days("clean_customers", days, columns=["customer_id"])
        ids = pa.concat_arrays([t.column("customer_id").combine_chunks() for t in tables.values()]) if tables else pa.array([], pa.string())
        master = pa.table({"customer_id": pc.unique(ids)}).sort_by("customer_id")
        first_partition = parse_partition_key(context.assets_def.partitions_def.get_first_partition_key())
        gaps = master_history_gaps(prodq_storage.raw, written, day, since=first_partition)
        yield dg.Output(
            master,
            metadata={
                "dagster/row_count": master.num_rows,
                "customer_partitions_read": len(tables),
                "first_partition": days[0].isoformat() if days else "",
                "missing_customers_days": len(gaps),
            },
        )
        yield checks.master_history_check_result(gaps)

    return customer_master
