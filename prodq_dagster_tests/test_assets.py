"""Integration tests of the asset graph: one daily partition materialized with ``dagster.materialize``.

Covers the run and its asset checks, the materialization metadata the UI charts,
the exact files written for a partition (clean/quarantine/metrics/reports), the
bookkeeping between the reports and the Parquet files, idempotent
re-materialization, the blocking pandera contract check and loading a partition
back through the IO manager.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prodq_dagster import checks
from prodq_dagster.assets.entities import FACTS_STEP
from prodq_dagster.definitions import build_definitions
from prodq_dagster.partitions import daily_partitions
from prodq_dagster.resources import ProdqIOManager, ProdqStorage

from .conftest import REPO_ROOT, materialize_day
from .test_core_support import break_event_contract

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import generate_data  # noqa: E402

DAY = "2025-12-10"
ENTITY_NAMES = ("customers", "events", "orders")
SIZES = dict(customers=100, events=1000, orders=200, seed=11)


def _generate_normal_day(raw_dir: str) -> dict:
    """One generated day without a partial load or a low-volume drop; returns its manifest entry."""
    manifest = generate_data.generate(raw_dir, DAY, DAY, partial_load_every=0, **SIZES)
    entry = manifest["days"][DAY]
    assert entry["partial_load_hours"] == [] and not entry["low_volume"]
    return entry


def _part(root: str, *parts: str) -> Path:
    return Path(root).joinpath(*parts, f"ingest_date={DAY}", "part-0.parquet")


def _report(settings, name: str) -> dict:
    return json.loads((Path(settings.reports_dir) / f"ingest_date={DAY}" / name).read_text(encoding="utf-8"))


def _materializations(result) -> dict[str, dg.AssetMaterialization]:
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        out[mat.asset_key.to_user_string()] = mat
    return out


def _hidden_files(*roots: str) -> list[Path]:
    """Files with a hidden name or under a hidden folder (``.staging/``, ``.scratch/`` ...): leftovers
    of a write. The empty hidden folders themselves stay, they hold nothing."""
    found = []
    for root in map(Path, roots):
        for p in root.rglob("*"):
            if not p.is_dir() and any(part.startswith(".") for part in p.relative_to(root).parts):
                found.append(p)
    return found


def test_one_partition_runs_checks_metadata_files_and_reports(paths, instance):
    expected = _generate_normal_day(paths.raw_dir)["expected"]

    result = materialize_day(paths, DAY, instance)
    assert result.success

    # Every asset check ran for the partition and passed (a normal day raises no alert).
    evaluations = result.get_asset_check_evaluations()
    seen = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations}
    for entity in ENTITY_NAMES:
        for check in (checks.CONTRACT_CHECK, checks.CONSERVATION_CHECK, checks.SCHEMA_DRIFT_CHECK, checks.UNKNOWN_VALUES_CHECK):
            assert (f"clean_{entity}", check) in seen
    assert ("customer_master", checks.MASTER_HISTORY_CHECK) in seen
    for check in checks.ALERT_CHECKS:
        assert ("alerts", check) in seen
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []

    # Exactly these partition files exist.
    out = paths.out_dir
    for entity in ENTITY_NAMES:
        assert _part(out, "clean", entity).is_file()
        assert _part(out, "quarantine", entity).is_file()
        assert sorted(p.name for p in _part(out, "clean", entity).parent.iterdir()) == ["part-0.parquet"]
    assert _part(out, "metrics", "daily_metrics").is_file()
    assert _part(out, "metrics", "hourly_events").is_file()
    report_dir = Path(paths.reports_dir) / f"ingest_date={DAY}"
    assert (report_dir / "validation_report.json").is_file()
    assert (report_dir / "alerts.json").is_file()

    hourly = pq.read_table(_part(out, "metrics", "hourly_events")).to_pandas().sort_values("hour")
    assert hourly["hour"].tolist() == list(range(24))
    assert hourly["event_count"].tolist() == expected["events"]["hourly_clean_events"]
    assert len(pq.read_table(_part(out, "metrics", "daily_metrics"))) == 1

    report = _report(paths, "validation_report.json")
    assert report["ingest_date"] == DAY
    mats = _materializations(result)
    for entity in ENTITY_NAMES:
        section = report[entity]
        clean = pq.read_table(_part(out, "clean", entity))
        quarantine = pq.read_table(_part(out, "quarantine", entity))
        # The report's numbers are the files' numbers, and nothing is lost.
        assert section["clean"] == clean.num_rows
        assert section["quarantine"] == quarantine.num_rows
        assert section["total"] == section["clean"] + section["quarantine"] + section["dropped_duplicates"]
        # ...and they agree with the generator's ground truth.
        for key in ("total", "clean", "quarantine", "dropped_duplicates"):
            assert section[key] == expected[entity][key], (entity, key)
        assert "ingest_date" not in clean.column_names  # the folder supplies it

        # Metadata the UI charts over partitions.
        clean_meta = mats[f"clean_{entity}"].metadata
        assert mats[f"clean_{entity}"].partition == DAY
        assert clean_meta["dagster/row_count"].value == clean.num_rows
        schema_columns = [c.name for c in clean_meta["dagster/column_schema"].schema.columns]
        assert schema_columns == clean.column_names
        assert clean_meta["quarantine_rate"].value == pytest.approx(section["quarantine"] / section["total"])

        q_meta = mats[f"quarantine_{entity}"].metadata
        assert q_meta["dagster/row_count"].value == quarantine.num_rows
        assert [c.name for c in q_meta["dagster/column_schema"].schema.columns] == quarantine.column_names
        assert q_meta["quarantine_rate"].value == pytest.approx(section["quarantine"] / section["total"])
        reasons = {key[len("reason_"):]: value.value for key, value in q_meta.items() if key.startswith("reason_")}
        nonzero = {code: n for code, n in section["by_reason"].items() if n}
        assert reasons and {code: n for code, n in reasons.items() if n} == nonzero
        assert nonzero == expected[entity]["by_reason"]

    alerts = _report(paths, "alerts.json")
    assert alerts["ingest_date"] == DAY
    assert alerts["alerts"] == []


def test_rematerializing_a_partition_is_idempotent(paths, instance):
    _generate_normal_day(paths.raw_dir)
    out = paths.out_dir
    datasets = [(kind, entity) for kind in ("clean", "quarantine") for entity in ENTITY_NAMES]

    assert materialize_day(paths, DAY, instance).success
    first = {key: pq.read_table(_part(out, *key)) for key in datasets}
    first_hourly = pq.read_table(_part(out, "metrics", "hourly_events"))

    assert materialize_day(paths, DAY, instance).success
    for key in datasets:
        again = pq.read_table(_part(out, *key))
        assert again.equals(first[key]), key
        assert sorted(p.name for p in _part(out, *key).parent.iterdir()) == ["part-0.parquet"]
    assert pq.read_table(_part(out, "metrics", "hourly_events")).equals(first_hourly)

    # The partitioned metrics dataset still has exactly one row for the day.
    daily = pd.read_parquet(Path(out) / "metrics" / "daily_metrics")
    assert (daily["ingest_date"].astype(str) == DAY).sum() == 1
    assert len(daily) == 1

    # No temporary file survives the atomic writes.
    assert _hidden_files(out, paths.reports_dir) == []


def test_contract_failure_blocks_the_write(paths, instance, monkeypatch):
    _generate_normal_day(paths.raw_dir)
    # A bug between the rules and the contract: the contract no longer allows a value the rules accept.
    break_event_contract(monkeypatch)

    result = materialize_day(paths, DAY, instance)
    assert not result.success
    failed_steps = {event.step_key for event in result.get_step_failure_events()}
    assert FACTS_STEP in failed_steps

    contract = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "clean_events" and e.check_name == checks.CONTRACT_CHECK
    ]
    assert len(contract) == 1
    evaluation = contract[0]
    assert evaluation.passed is False
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    by_check = evaluation.metadata["failures_by_check"].value
    assert by_check and any(label.startswith("event_type") for label in by_check)
    sample = evaluation.metadata["failure_sample"].value
    assert sample and any(row["failure_case"] == "page_view" for row in sample)

    out = paths.out_dir
    assert not _part(out, "clean", "events").exists()
    assert not _part(out, "quarantine", "events").exists()
    # The customers step, which does not use the patched table, still wrote its partition;
    # the orders computed beside the failed events in the same step were not published.
    assert _part(out, "clean", "customers").is_file()
    assert not _part(out, "clean", "orders").exists() and not _part(out, "quarantine", "orders").exists()
    materialized = _materializations(result)
    assert not {"clean_events", "quarantine_events", "clean_orders", "quarantine_orders", "daily_metrics"} & set(materialized)


def test_events_or_orders_materialize_alone(paths, instance):
    """The events-and-orders step is subsettable: a selection runs only what it names."""
    _generate_normal_day(paths.raw_dir)
    defs = build_definitions(paths)
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]

    def run(*selection: str):
        return dg.materialize(assets, selection=list(selection), partition_key=DAY, resources=defs.resources, instance=instance)

    assert run("clean_customers", "quarantine_customers", "load_stats_customers", "customer_master").success
    result = run("clean_orders")
    assert result.success
    assert set(_materializations(result)) == {"clean_orders"}
    checked = {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()}
    entity_checks = (checks.CONTRACT_CHECK, checks.CONSERVATION_CHECK, checks.SCHEMA_DRIFT_CHECK, checks.UNKNOWN_VALUES_CHECK)
    assert checked == {("clean_orders", c) for c in entity_checks}
    out = paths.out_dir
    assert _part(out, "clean", "orders").is_file()
    # The unselected partitions were not published (the quarantine was computed, then discarded).
    assert not _part(out, "quarantine", "orders").exists()
    assert not _part(out, "clean", "events").exists() and not _part(out, "quarantine", "events").exists()
    assert _hidden_files(out) == []

    result = run("quarantine_events")
    assert result.success and set(_materializations(result)) == {"quarantine_events"}
    assert _part(out, "quarantine", "events").is_file() and not _part(out, "clean", "events").exists()


def test_io_manager_loads_a_partition_as_pandas(paths, instance):
    _generate_normal_day(paths.raw_dir)
    assert materialize_day(paths, DAY, instance).success
    on_disk = pq.read_table(_part(paths.out_dir, "clean", "events"))

    defs = build_definitions(paths)
    frame = defs.load_asset_value("clean_events", partition_key=DAY, instance=instance)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == on_disk.num_rows
    dtype = frame["event_time_utc"].dtype
    assert isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
    assert frame["event_id"].tolist() == on_disk.column("event_id").to_pylist()

    orders = defs.load_asset_value("clean_orders", partition_key=DAY, instance=instance)
    assert isinstance(orders["order_time_utc"].dtype, pd.DatetimeTZDtype)
    assert str(orders["order_time_utc"].dtype.tz) == "UTC"

    # The IO manager on its own, through public context builders.
    manager = ProdqIOManager(storage=ProdqStorage(settings=paths))
    partitions_def = daily_partitions(paths)
    context = dg.build_input_context(
        asset_key=dg.AssetKey("clean_events"),
        partition_key=DAY,
        asset_partitions_def=partitions_def,
        dagster_type=dg.PythonObjectDagsterType(pa.Table),
    )
    table = manager.load_input(context)
    assert isinstance(table, pa.Table) and table.equals(on_disk)
    assert table.schema.field("event_time_utc").type == pa.timestamp("us", tz="UTC")

    missing = dg.build_input_context(
        asset_key=dg.AssetKey("clean_events"),
        partition_key="2025-12-11",
        asset_partitions_def=partitions_def,
        dagster_type=dg.PythonObjectDagsterType(pd.DataFrame),
    )
    with pytest.raises(dg.Failure, match="2025-12-11"):
        manager.load_input(missing)


def test_a_failed_entity_publishes_nothing_of_its_step_so_the_day_stays_consistent(paths, instance):
    """A corrupt orders file fails the events-and-orders step: the new events are not
    published either, so clean/quarantine, load statistics and reports all stay those of
    the last run that succeeded (no mix of a new events partition and an old report)."""
    _generate_normal_day(paths.raw_dir)
    assert materialize_day(paths, DAY, instance).success
    out, reports = Path(paths.out_dir), Path(paths.reports_dir)
    kept = [_part(out, k, e) for k in ("clean", "quarantine") for e in ("events", "orders")]
    kept += [out / "metrics" / "load_stats" / e / f"ingest_date={DAY}" / "stats.json" for e in ("events", "orders")]
    kept += [_part(out, "metrics", "daily_metrics"), reports / f"ingest_date={DAY}" / "validation_report.json"]
    before = {path: path.read_bytes() for path in kept}

    day_dir = Path(paths.raw_dir) / f"ingest_date={DAY}"
    events = day_dir / "events_raw.csv"
    events.write_text("\n".join(events.read_text().splitlines()[:50]) + "\n")  # would change the events outputs
    for plain in day_dir.glob("orders*.csv"):
        plain.unlink()
    (day_dir / "orders_raw.csv.gz").write_bytes(b"this is not gzip data")

    result = materialize_day(paths, DAY, instance)
    assert not result.success
    [failure] = [e for e in result.get_step_failure_events() if e.step_key == FACTS_STEP]
    assert "orders_raw.csv.gz" in failure.event_specific_data.error.message
    assert "nothing of events or orders was published" in failure.event_specific_data.error.message
    materialized = set(_materializations(result))
    assert not {"clean_events", "quarantine_events", "clean_orders", "quarantine_orders", "daily_metrics"} & materialized
    assert {path: path.read_bytes() for path in kept} == before
    assert _hidden_files(paths.out_dir, paths.reports_dir) == []
