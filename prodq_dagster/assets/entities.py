"""One multi-asset per entity: raw CSV -> clean + quarantine Parquet (and the day's load statistics).

The pandera contract runs as a blocking check before anything is written: when it
fails, the failed check is recorded with failure counts and a masked sample, and
the step fails, so no invalid partition reaches ``clean/``.
"""

from pathlib import Path

import dagster as dg
import pyarrow as pa

from .. import checks
from ..core import contract as core_contract
from ..core import storage
from ..core.reader import RawInputError
from ..core.streaming import stream_entity
from ..core.stats import stats_to_table
from ..resources import ProdqConfig, parse_partition_key
from .groups import CONFIG_KEY, INGEST_GROUP, IO_MANAGER_KEY
from .metadata import clean_metadata, quarantine_metadata
from .raw import raw_key
from .upstream import read_upstream

_ENTITY_DOCS = {
    "customers": "Customers: one row per customer_id (best record of the day), country as ISO 3166 alpha-2, "
    "status active/inactive/banned, created_at in UTC, email_valid flag.",
    "events": "Events: one row per event_id, event_time in UTC, canonical event_type and platform "
    "(ios/android/web), duration_ms as integer milliseconds; customer_id is in the customer master of the day.",
    "orders": "Orders: one row per order_id, order_time in UTC, exact amount (decimal 18,2), ISO 4217 currency, "
    "status paid/failed/refunded/chargeback; customer_id is in the customer master of the day.",
}

def _outs(entity: str) -> dict[str, dg.AssetOut]:
    version = core_contract.RULE_SET_VERSION
    return {
        f"clean_{entity}": dg.AssetOut(
            io_manager_key=IO_MANAGER_KEY,
            code_version=version,
            description=f"{_ENTITY_DOCS[entity]} Rows that passed every reject rule; warn-level issues are listed in warn_reason.",
            kinds={"parquet"},
        ),
        f"quarantine_{entity}": dg.AssetOut(
            io_manager_key=IO_MANAGER_KEY,
            code_version=version,
            description=f"Rejected {entity} rows with the raw text of every column, reject_reason (codes joined by '|'), "
            "source_file and source_line. Malformed lines carry their raw_text.",
            kinds={"parquet"},
        ),
    }

def _check_specs(entity: str, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    clean = f"clean_{entity}"
    return [
        dg.AssetCheckSpec(
            checks.CONTRACT_CHECK,
            asset=clean,
            blocking=True,
            partitions_def=partitions_def,
            description="Pandera contract of the clean output (types, keys, categories, ranges), run before writing.",
        ),
        dg.AssetCheckSpec(
            checks.CONSERVATION_CHECK,
            asset=clean,
            blocking=True,
            partitions_def=partitions_def,
            description="raw rows = clean + quarantine + dropped full-row duplicates.",
        ),
        dg.AssetCheckSpec(
            checks.SCHEMA_DRIFT_CHECK,
            asset=clean,
            partitions_def=partitions_def,
            description="WARN when the raw files miss contract columns or carry extra ones.",
        ),
    ]

def run_entity(context: dg.AssetExecutionContext, config: ProdqConfig, entity: str, master_ids: pa.Array | None):
    """Shared body of the entity multi-assets.

    The clean and quarantine partitions are written in bounded memory by
    ``core.streaming.stream_entity`` to hidden temp files and published only when the
    contract and conservation hold; the outputs then only carry metadata.
    """
    day = parse_partition_key(context.partition_key)
    day_dir = Path(config.raw_dir) / f"ingest_date={day.isoformat()}"
    try:
        outcome = stream_entity(
            day_dir,
            core_contract.ENTITIES[entity],
            day,
            master_ids,
            config.out_dir,
            bucket_rows=config.bucket_rows,
            block_bytes=config.read_block_mb << 20,
        )
    except RawInputError as exc:
        raise dg.Failure(description=str(exc)) from None
    if not outcome.stats["feed_present"]:
        context.log.warning(f"no {entity} file in {day_dir}: writing empty outputs (missing_feed alert)")
    clean_key = f"clean_{entity}"

    yield checks.contract_check_result(clean_key, outcome.contract)
    conservation = checks.conservation_check_result(clean_key, outcome.stats)
    yield conservation
    yield checks.schema_drift_check_result(clean_key, outcome.stats)
    if not outcome.contract.passed or not conservation.passed:
        failed = checks.CONTRACT_CHECK if not outcome.contract.passed else checks.CONSERVATION_CHECK
        raise dg.Failure(
            description=f"{clean_key} partition {day} failed the blocking check {failed}; no output was written",
            metadata={"failure_count": outcome.contract.failure_count},
        )

    # The day's load statistics (the counts the two files cannot give back) for the metrics
    # and the reports: a file beside the outputs, not an asset of its own.
    storage.write_table(stats_to_table(entity, outcome.stats), config.out_dir, f"load_stats_{entity}", day)
    # Already written by stream_entity; the IO manager skips None values.
    yield dg.Output(None, output_name=clean_key, metadata=clean_metadata(outcome))
    yield dg.Output(None, output_name=f"quarantine_{entity}", metadata=quarantine_metadata(outcome))


def build_entity_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    common = dict(
        partitions_def=partitions_def,
        group_name=INGEST_GROUP,
        required_resource_keys={CONFIG_KEY},
    )

    @dg.multi_asset(
        name="customers",
        outs=_outs("customers"),
        deps=[raw_key("customers")],
        check_specs=_check_specs("customers", partitions_def),
        **common,
    )
    def customers(context: dg.AssetExecutionContext):
        """Parse, validate and dedupe the day's customers feed into clean and quarantine Parquet."""
        yield from run_entity(context, getattr(context.resources, CONFIG_KEY), "customers", None)

    def fact_asset(entity: str):
        @dg.multi_asset(
            name=entity,
            outs=_outs(entity),
            deps=[raw_key(entity), "customer_master"],
            check_specs=_check_specs(entity, partitions_def),
            description=(
                f"Parse, validate and dedupe the day's {entity} feed into clean and quarantine Parquet; customer ids "
                "are checked against the customer master as of the day."
            ),
            **common,
        )
        def _fact(context: dg.AssetExecutionContext):
            config: ProdqConfig = getattr(context.resources, CONFIG_KEY)
            master = read_upstream(config.out_dir, "customer_master", parse_partition_key(context.partition_key), ["customer_id"])
            yield from run_entity(context, config, entity, master.column("customer_id").combine_chunks())

        return _fact

    return [customers, fact_asset("events"), fact_asset("orders")]
