"""The customer master: every customer id that is clean on or before the day."""

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from ..core import contract as core_contract
from ..core import storage
from ..range_wait import wait_for_earlier_days
from ..resources import parse_partition_key
from .groups import CONFIG_KEY, INGEST_GROUP, IO_MANAGER_KEY

def build_master_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="customer_master",
        partitions_def=partitions_def,
        group_name=INGEST_GROUP,
        io_manager_key=IO_MANAGER_KEY,
        code_version=core_contract.RULE_SET_VERSION,
        required_resource_keys={CONFIG_KEY},
        kinds={"parquet"},
        deps=[
            dg.AssetDep("clean_customers"),
            # Lineage: D's master extends D-1's, so a changed customers day makes later days stale.
            dg.AssetDep(
                "customer_master",
                partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True),
            ),
        ],
    )
    def customer_master(context: dg.AssetExecutionContext) -> pa.Table:
        """Customer ids that are clean in any customers partition on or before this day.

        Events and orders of day D check referential integrity against it. It is rebuilt
        from the clean customers partitions up to D (only their customer_id column), so it
        never sees days after D and backfills in any order give the same answer.
        """
        day = parse_partition_key(context.partition_key)
        out_dir = getattr(context.resources, CONFIG_KEY).out_dir
        wait_for_earlier_days(context, "clean_customers")
        days = [d for d in storage.written_days(out_dir, "clean_customers") if d <= day]
        tables = storage.read_tables(out_dir, "clean_customers", days, columns=["customer_id"])
        ids = pa.concat_arrays([t.column("customer_id").combine_chunks() for t in tables.values()]) if tables else pa.array([], pa.string())
        master = pa.table({"customer_id": pc.unique(ids)}).sort_by("customer_id")
        context.add_output_metadata(
            {"dagster/row_count": master.num_rows, "customer_partitions_read": len(tables), "first_partition": days[0].isoformat() if days else ""}
        )
        return master

    return customer_master
