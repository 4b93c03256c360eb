"""Raw CSV -> clean + quarantine Parquet (and the day's load statistics): a customers multi-asset
and one for events and orders together.

The pandera contract runs as a blocking check before anything is written: when it
fails, the failed check is recorded with failure counts and a masked sample, and
the step fails, so no invalid partition reaches ``clean/``.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pyarrow as pa

from .. import checks
from ..core import contract as core_contract
from ..core import storage
from ..core.reader import RawInputError
from ..core.streaming import StreamOutcome, stream_entity
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

def _outs(entity: str, version: str, subsettable: bool = False) -> dict[str, dg.AssetOut]:
    return {
        f"clean_{entity}": dg.AssetOut(
            is_required=not subsettable,
            io_manager_key=IO_MANAGER_KEY,
            code_version=version,
            description=f"{_ENTITY_DOCS[entity]} Rows that passed every reject rule; warn-level issues are listed in warn_reason.",
            kinds={"parquet"},
        ),
        f"quarantine_{entity}": dg.AssetOut(
            is_required=not subsettable,
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
        dg.AssetCheckSpec(
            checks.UNKNOWN_VALUES_CHECK,
            asset=clean,
            partitions_def=partitions_def,
            description="WARN when a raw category value that no vocabulary knows reaches the alert threshold "
            "(PRODQ_UNKNOWN_VALUE_MIN_SHARE and PRODQ_UNKNOWN_VALUE_MIN_ROWS); the commonest unknown values are in the metadata.",
        ),
    ]

# Events and orders are one step: their two streams run side by side in threads (each
# leaves part of the two cores idle), which a run's in-process executor cannot do for
# two steps. The step is subsettable, so either entity still runs alone.
FACTS_STEP = "events_and_orders"
FACT_ENTITIES = ("events", "orders")
_KINDS = ("clean", "quarantine")


def _stream(context: dg.AssetExecutionContext, config: ProdqConfig, entity: str, master_ids: pa.Array | None) -> StreamOutcome:
    """Process one entity-day in bounded memory; its partitions are staged, not yet published."""
    day = parse_partition_key(context.partition_key)
    try:
        return stream_entity(
            Path(config.raw_dir) / f"ingest_date={day.isoformat()}",
            core_contract.ENTITIES[entity],
            day,
            master_ids,
            config.vocabularies(),
            config.out_dir,
            bucket_rows=config.bucket_rows,
            block_bytes=config.read_block_mb << 20,
        )
    except RawInputError as exc:
        raise dg.Failure(description=str(exc)) from None


def _checks(context: dg.AssetExecutionContext, config: ProdqConfig, entity: str, outcome: StreamOutcome) -> tuple[list, str | None]:
    """An entity's check results (those selected), and a failure description when a blocking one failed."""
    clean_key = f"clean_{entity}"
    contract = checks.contract_check_result(clean_key, outcome.contract)
    conservation = checks.conservation_check_result(clean_key, outcome.stats)
    drift = checks.schema_drift_check_result(clean_key, outcome.stats)
    unknown = checks.unknown_values_check_result(clean_key, outcome.stats, config.settings())
    results = [
        r for r in (contract, conservation, drift, unknown)
        if dg.AssetCheckKey(dg.AssetKey(clean_key), r.check_name) in context.selected_asset_check_keys
    ]  # fmt: skip
    if contract.passed and conservation.passed:
        return results, None
    failed = checks.CONTRACT_CHECK if not contract.passed else checks.CONSERVATION_CHECK
    day = context.partition_key
    return results, f"{clean_key} partition {day} failed the blocking check {failed} ({outcome.contract.failure_count} failures)"


def _publish(context: dg.AssetExecutionContext, config: ProdqConfig, entity: str, outcome: StreamOutcome, kinds: frozenset[str]):
    """Publish the staged partitions of ``kinds`` and the day's load statistics; yield the outputs.

    The partitions are written by ``stream_entity``; the outputs only carry metadata.
    """
    day = parse_partition_key(context.partition_key)
    if not outcome.stats.feed_present:
        context.log.warning(f"no {entity} file for {day}: writing empty outputs (missing_feed alert)")
    outcome.publish(kinds)
    # The day's load statistics (the counts the two files cannot give back) for the metrics
    # and the reports: a file beside the outputs, not an asset of its own.
    storage.write_stats(outcome.stats, config.out_dir, day)
    metadata = {"clean": clean_metadata, "quarantine": quarantine_metadata}
    for kind in _KINDS:
        if kind in kinds:
            yield dg.Output(None, output_name=f"{kind}_{entity}", metadata=metadata[kind](outcome))  # the IO manager skips None


def build_entity_assets(partitions_def: dg.PartitionsDefinition, version: str) -> list[dg.AssetsDefinition]:
    common = dict(
        partitions_def=partitions_def,
        group_name=INGEST_GROUP,
        required_resource_keys={CONFIG_KEY},
    )

    @dg.multi_asset(
        name="customers",
        outs=_outs("customers", version),
        deps=[raw_key("customers")],
        check_specs=_check_specs("customers", partitions_def),
        **common,
    )
    def customers(context: dg.AssetExecutionContext):
        """Parse, validate and dedupe the day's customers feed into clean and quarantine Parquet."""
        config: ProdqConfig = getattr(context.resources, CONFIG_KEY)
        outcome = _stream(context, config, "customers", None)
        results, failure = _checks(context, config, "customers", outcome)
        yield from results
        if failure:
            outcome.discard()
            raise dg.Failure(description=f"{failure}; nothing was published")
        yield from _publish(context, config, "customers", outcome, frozenset(_KINDS))

    @dg.multi_asset(
        name=FACTS_STEP,
        outs={name: out for entity in FACT_ENTITIES for name, out in _outs(entity, version, subsettable=True).items()},
        deps=[*(raw_key(entity) for entity in FACT_ENTITIES), "customer_master"],
        internal_asset_deps={
            f"{kind}_{entity}": {raw_key(entity), dg.AssetKey("customer_master")} for entity in FACT_ENTITIES for kind in _KINDS
        },
        check_specs=[spec for entity in FACT_ENTITIES for spec in _check_specs(entity, partitions_def)],
        can_subset=True,
        description=(
            "Parse, validate and dedupe the day's events and orders feeds into clean and quarantine Parquet, the two "
            "side by side; customer ids are checked against the customer master as of the day. Either entity can be "
            "materialized alone."
        ),
        **common,
    )
    def events_and_orders(context: dg.AssetExecutionContext):
        config: ProdqConfig = getattr(context.resources, CONFIG_KEY)
        selected = set(context.selected_output_names)
        checked = {key.asset_key.to_user_string() for key in context.selected_asset_check_keys}
        publish = {entity: frozenset(k for k in _KINDS if f"{k}_{entity}" in selected) for entity in FACT_ENTITIES}
        entities = [e for e in FACT_ENTITIES if publish[e] or f"clean_{e}" in checked]
        master = read_upstream(config.out_dir, "customer_master", parse_partition_key(context.partition_key), ["customer_id"])
        master_ids = master.column("customer_id").combine_chunks()
        outcomes, failures = {}, {}
        with ThreadPoolExecutor(max_workers=max(1, len(entities))) as pool:
            pending = {e: pool.submit(_stream, context, config, e, master_ids) for e in entities}
            for entity, future in pending.items():
                try:
                    outcomes[entity] = future.result()
                except dg.Failure as exc:
                    failures[entity] = exc.description
        results = {}
        for entity, outcome in outcomes.items():
            results[entity], failure = _checks(context, config, entity, outcome)
            if failure:
                failures[entity] = failure
        if failures:
            # One step, one outcome: when either entity fails, neither is published, so the
            # day's outputs stay those of the last run that succeeded (its reports included).
            for outcome in outcomes.values():
                outcome.discard()
            for entity in failures:
                yield from results.get(entity, [])
            raise dg.Failure(description="; ".join(failures[e] for e in sorted(failures)) + "; nothing of events or orders was published")
        for entity, outcome in outcomes.items():
            yield from results[entity]
            yield from _publish(context, config, entity, outcome, publish[entity])

    return [customers, events_and_orders]
