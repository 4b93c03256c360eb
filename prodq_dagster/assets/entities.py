"""Raw CSV -> clean + quarantine Parquet and the day's load statistics: a customers multi-asset
and one for events and orders together.

The rows are streamed into staged files (bounded memory); the IO manager publishes them.
The pandera contract runs as a blocking check before anything is published: when it
fails, the failed check is recorded with failure counts and a masked sample, and
the step fails, so no invalid partition reaches ``clean/``.
"""

from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pyarrow as pa

from .. import checks
from ..core import contract as core_contract
from ..core.reader import RawInputError
from ..core.streaming import StreamOutcome, stream_entity
from ..resources import ProdqStorage, parse_partition_key
from .groups import INGEST_GROUP, IO_MANAGER_KEY
from .metadata import clean_metadata, quarantine_metadata, stats_metadata
from .raw import raw_key

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
        f"load_stats_{entity}": dg.AssetOut(
            is_required=not subsettable,
            io_manager_key=IO_MANAGER_KEY,
            code_version=version,
            description=f"The {entity} load statistics of the day (JSON): raw rows, clean, quarantine, dropped "
            "duplicates and malformed lines, counts per reject and warn reason, unknown category values, schema "
            "drift and the files read. The metrics and the reports are built from them.",
            kinds={"json"},
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

# Events and orders are one step so that a day's facts are published all or nothing: when
# one entity fails, neither is published and the metrics and reports (which need both)
# keep matching what is published. Their two streams run side by side in threads.
FACTS_STEP = "events_and_orders"
FACT_ENTITIES = ("events", "orders")
_KINDS = ("clean", "quarantine", "load_stats")


def _stream(context: dg.AssetExecutionContext, storage: ProdqStorage, entity: str, master_ids: pa.Array | None) -> StreamOutcome:
    """Process one entity-day in bounded memory into staged (not yet published) files."""
    settings = storage.settings
    try:
        return stream_entity(
            storage.raw,
            core_contract.ENTITIES[entity],
            parse_partition_key(context.partition_key),
            master_ids,
            settings.vocabularies(),
            storage.out,
            bucket_rows=settings.bucket_rows,
            block_bytes=settings.block_bytes,
        )
    except RawInputError as exc:
        raise dg.Failure(description=str(exc)) from None


def _checks(context: dg.AssetExecutionContext, storage: ProdqStorage, entity: str, outcome: StreamOutcome) -> tuple[list, str | None]:
    """An entity's check results (those selected), and a failure description when a blocking one failed."""
    clean_key = f"clean_{entity}"
    contract = checks.contract_check_result(clean_key, outcome.contract)
    conservation = checks.conservation_check_result(clean_key, outcome.stats)
    drift = checks.schema_drift_check_result(clean_key, outcome.stats)
    unknown = checks.unknown_values_check_result(clean_key, outcome.stats, storage.settings.alert_policy())
    results = [
        r for r in (contract, conservation, drift, unknown)
        if dg.AssetCheckKey(dg.AssetKey(clean_key), r.check_name) in context.selected_asset_check_keys
    ]  # fmt: skip
    if contract.passed and conservation.passed:
        return results, None
    failed = checks.CONTRACT_CHECK if not contract.passed else checks.CONSERVATION_CHECK
    day = context.partition_key
    return results, f"{clean_key} partition {day} failed the blocking check {failed} ({outcome.contract.failure_count} failures)"


def _outputs(context: dg.AssetExecutionContext, entity: str, outcome: StreamOutcome, selected: set[str]):
    """The outputs of an entity: staged clean and quarantine files and the load statistics, for the
    IO manager to publish. Staged files of outputs that are not selected are deleted."""
    if not outcome.stats.feed_present:
        context.log.warning(f"no {entity} file for {context.partition_key}: writing empty outputs (missing_feed alert)")
    values = {"clean": outcome.clean, "quarantine": outcome.quarantine, "load_stats": outcome.stats}
    metadata = {"clean": clean_metadata, "quarantine": quarantine_metadata, "load_stats": stats_metadata}
    for kind in _KINDS:
        name = f"{kind}_{entity}"
        if name in selected:
            yield dg.Output(values[kind], output_name=name, metadata=metadata[kind](outcome))
        elif kind != "load_stats":
            values[kind].abort()


def build_entity_assets(partitions_def: dg.PartitionsDefinition, version: str) -> list[dg.AssetsDefinition]:
    common = dict(partitions_def=partitions_def, group_name=INGEST_GROUP)

    @dg.multi_asset(
        name="customers",
        outs=_outs("customers", version),
        deps=[raw_key("customers")],
        check_specs=_check_specs("customers", partitions_def),
        **common,
    )
    def customers(context: dg.AssetExecutionContext, prodq_storage: ProdqStorage):
        """Parse, validate and dedupe the day's customers feed into clean and quarantine Parquet."""
        outcome = _stream(context, prodq_storage, "customers", None)
        results, failure = _checks(context, prodq_storage, "customers", outcome)
        yield from results
        if failure:
            outcome.discard()
            raise dg.Failure(description=f"{failure}; nothing was published")
        yield from _outputs(context, "customers", outcome, set(context.selected_output_names))

    @dg.multi_asset(
        name=FACTS_STEP,
        outs={name: out for entity in FACT_ENTITIES for name, out in _outs(entity, version, subsettable=True).items()},
        deps=[raw_key(entity) for entity in FACT_ENTITIES],
        ins={"customer_master": dg.AssetIn(metadata={"columns": ["customer_id"]})},
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
    def events_and_orders(context: dg.AssetExecutionContext, prodq_storage: ProdqStorage, customer_master: pa.Table):
        selected = set(context.selected_output_names)
        checked = {key.asset_key.to_user_string() for key in context.selected_asset_check_keys}
        entities = [e for e in FACT_ENTITIES if any(f"{k}_{e}" in selected for k in _KINDS) or f"clean_{e}" in checked]
        master_ids = customer_master.column("customer_id").combine_chunks()
        outcomes, failures = {}, {}
        with ThreadPoolExecutor(max_workers=max(1, len(entities))) as pool:
            pending = {e: pool.submit(_stream, context, prodq_storage, e, master_ids) for e in entities}
            for entity, future in pending.items():
                try:
                    outcomes[entity] = future.result()
                except dg.Failure as exc:
                    failures[entity] = exc.description
        results = {}
        for entity, outcome in outcomes.items():
            results[entity], failure = _checks(context, prodq_storage, entity, outcome)
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
            yield from _outputs(context, entity, outcome, selected)

    return [customers, events_and_orders]
