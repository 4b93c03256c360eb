"""Shared fixtures: a temporary Dagster instance, raw-folder writers and a one-call partition run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import dagster as dg
import pytest

from prodq_dagster.core.contract import ENTITIES
from prodq_dagster.definitions import build_definitions
from prodq_dagster.settings import ProdqSettings

from .services import postgres_service, s3_service  # noqa: F401  (session fixtures for every module)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    """Every test that touches Dagster runs against its own instance in a temp dir."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def instance(dagster_home):
    with dg.DagsterInstance.get() as inst:
        yield inst


def replace_settings(settings: ProdqSettings, **changes) -> ProdqSettings:
    """A copy of ``settings`` with ``changes``."""
    return ProdqSettings(**{**{name: getattr(settings, name) for name in ProdqSettings.model_fields}, **changes})


@pytest.fixture
def paths(tmp_path) -> ProdqSettings:
    """Settings pointing raw/out/reports at a temp dir (partitions start early enough for tests)."""
    return ProdqSettings(
        raw_dir=str(tmp_path / "raw"),
        out_dir=str(tmp_path / "out"),
        reports_dir=str(tmp_path / "reports"),
        partitions_start="2025-01-01",
    )


def write_csv(raw_dir: str | Path, day: str, entity: str, rows: list[dict] | list[list], header: list[str] | None = None, name: str | None = None) -> Path:
    """Write one raw CSV for a day; ``rows`` as dicts (keys = contract columns) or lists."""
    folder = Path(raw_dir) / f"ingest_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    columns = header or list(ENTITIES[entity].columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns] if isinstance(row, dict) else row)
    path = folder / (name or f"{ENTITIES[entity].file_prefix}.csv")
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def materialize_day(settings: ProdqSettings, day: str, instance, raise_on_error: bool = False):
    """Materialize the whole asset graph for one partition with ``dagster.materialize``."""
    defs = build_definitions(settings)
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    return dg.materialize(
        assets,
        partition_key=day,
        resources=defs.resources,
        instance=instance,
        raise_on_error=raise_on_error,
    )


def pytest_collection_modifyitems(items):
    """Start the scale-out backfill test first: it mostly waits on the Dagster daemon, so under
    ``pytest -n 2`` the other worker runs the rest of the suite meanwhile."""
    items.sort(key=lambda item: 0 if "test_scale_out" in item.nodeid else 1)
