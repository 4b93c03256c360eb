"""Fault tolerance of the real CLI: a run killed mid-write, two runs of one day at once
(on an instance that has run before, and as the very first runs of a fresh instance),
and a rerun after the raw files of the day were replaced.

Every run is ``python -m prodq_dagster`` in a subprocess with its own temporary
``DAGSTER_HOME``. Two reference runs, each a clean run in a fresh output folder, are
made once per module: data A (the generator's messy day) and data B (a smaller
hand-written day with other ids). The tests compare what they find on disk with
those references, file by file (Parquet tables compared with ``Table.equals``, JSON
documents compared without their ``run_id``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from prodq_dagster.core.contract import ENTITIES
from prodq_dagster.core.outputs import CLEAN_SCHEMAS, QUARANTINE_SCHEMAS
from prodq_dagster.core.storage import STAGING

from .conftest import REPO_ROOT

D = "2025-12-10"
ENTITY_NAMES = tuple(ENTITIES)
KEYS = {name: entity.primary_key for name, entity in ENTITIES.items()}


# ----------------------------------------------------------------------------- data and CLI helpers


def generate_data_a(raw: Path) -> None:
    """The generator's messy day (mixed spellings, rejects of every kind, duplicates)."""
    args = ["--out_dir", str(raw), "--start", D, "--end", D, "--seed", "5", "--customers", "40", "--events", "400", "--orders", "80"]
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "generate_data.py"), *args], cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)


def _csv(header: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    return buffer.getvalue()


def write_data_b(raw: Path) -> None:
    """A small day with ids that never occur in data A (and a few broken rows)."""
    folder = raw / f"ingest_date={D}"
    folder.mkdir(parents=True, exist_ok=True)
    customers = [
        {"customer_id": f"NC{i}", "email": f"n{i}@example.com", "created_at": "2025-12-09 08:00:00", "country": "DE", "status": "active", "ingest_date": D}
        for i in range(1, 6)
    ]
    events = [
        {
            "event_id": f"NE{i:02d}",
            "customer_id": f"NC{1 + i % 5}",
            "event_time": f"2025-12-10 {i:02d}:15:00",
            "event_type": "search",
            "platform": "android",
            "session_id": f"NS{i}",
            "duration_ms": str(100 * i),
            "ingest_date": D,
        }
        for i in range(12)
    ]
    events.append(dict(events[0], event_id="NE99", event_time="not a date"))
    events.append(dict(events[1], event_id="NE98", customer_id="GHOST"))
    orders = [
        {"order_id": f"NO{i}", "customer_id": f"NC{i}", "order_time": "2025-12-10 12:00:00", "amount": "5.00", "currency": "EUR", "status": "paid", "ingest_date": D}
        for i in range(1, 4)
    ]
    orders.append(dict(orders[0], order_id="NO9", amount="-3"))
    for name, rows in (("customers", customers), ("events", events), ("orders", orders)):
        (folder / f"{name}_raw.csv").write_text(_csv(list(ENTITIES[name].columns), rows), encoding="utf-8")


def replace_raw_day(raw: Path, source: Path) -> None:
    """Swap the day's raw files for another data set's (as a producer re-delivering the day would)."""
    folder = raw / f"ingest_date={D}"
    shutil.rmtree(folder)
    shutil.copytree(source / f"ingest_date={D}", folder)


def cli_env(home: Path, **extra: str) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODQ_")}
    env["DAGSTER_HOME"] = str(home)
    env.update(extra)
    return env


def cli_args(raw: Path, out: Path, reports: Path) -> list[str]:
    return [sys.executable, "-m", "prodq_dagster", "--data_dir", str(raw), "--out_dir", str(out), "--reports_dir", str(reports), "--date", D]


def start_cli(raw: Path, out: Path, reports: Path, home: Path, log: Path, **extra_env: str) -> subprocess.Popen:
    with open(log, "wb") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(
            cli_args(raw, out, reports),
            cwd=REPO_ROOT,
            env=cli_env(home, **extra_env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def finish(proc: subprocess.Popen, log: Path, timeout: float = 300) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"CLI did not finish in {timeout}s:\n{log.read_text(errors='replace')}")
    output = log.read_text(errors="replace")
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    return output


def run_cli(raw: Path, out: Path, reports: Path, home: Path, **extra_env: str) -> str:
    log = out.parent / f"cli-{time.monotonic_ns()}.log"
    return finish(start_cli(raw, out, reports, home, log, **extra_env), log)


# ----------------------------------------------------------------------------- what is on disk


def visible_files(root: Path) -> list[Path]:
    """Files a reader can see: nothing below a hidden ('.' prefixed) name."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def hidden_temp_files(out: Path) -> list[Path]:
    """Files of unfinished writes: anything below a hidden name (staged files under .staging/,
    spill files under .scratch/), except the partition lock files under .locks/."""
    if not out.is_dir():
        return []
    return sorted(
        p for p in out.rglob("*")
        if p.is_file() and p.relative_to(out).parts[0] != ".locks" and any(part.startswith(".") for part in p.relative_to(out).parts)
    )  # fmt: skip


def staged_complete(out: Path, dataset: str) -> list[Path]:
    """Complete staged Parquet files (footer written) of ``dataset`` (e.g. ``clean/events``), by schema."""
    kind, name = dataset.split("/")
    expected = (CLEAN_SCHEMAS if kind == "clean" else QUARANTINE_SCHEMAS)[name].names
    found = []
    for path in (out / STAGING).glob("*.parquet"):
        try:
            if pq.read_schema(path).names == expected:
                found.append(path)
        except (OSError, ValueError):  # still being written (no footer yet), or gone
            continue
    return found


RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def snapshot(out: Path, reports: Path) -> dict[str, object]:
    """Every visible output: Parquet as Arrow tables, JSON without the run id."""
    snap: dict[str, object] = {}
    for path in visible_files(out):
        if path.name == "stats.json":  # the load statistics of an entity-day
            snap[f"out/{path.relative_to(out)}"] = json.loads(path.read_text(encoding="utf-8"))
            continue
        assert path.name == "part-0.parquet", f"stray visible file {path}"
        snap[f"out/{path.relative_to(out)}"] = pq.read_table(path)
    for path in visible_files(reports):
        if path.suffix == ".html":  # the HTML report, the run id masked
            snap[f"reports/{path.relative_to(reports)}"] = RUN_ID.sub("RUN", path.read_text(encoding="utf-8"))
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        document.pop("run_id", None)
        snap[f"reports/{path.relative_to(reports)}"] = document
    return snap


def same(a, b) -> bool:
    return a.equals(b) if hasattr(a, "equals") else a == b


def assert_same_snapshot(found: dict, expected: dict) -> None:
    assert sorted(found) == sorted(expected)
    differing = [key for key in expected if not same(found[key], expected[key])]
    assert differing == [], differing


def assert_report_matches_files(out: Path, reports: Path) -> None:
    report = json.loads((reports / f"ingest_date={D}" / "validation_report.json").read_text())
    for name in ENTITY_NAMES:
        section = report[name]
        assert section["total"] == section["clean"] + section["quarantine"] + section["dropped_duplicates"]
        for kind in ("clean", "quarantine"):
            path = out / kind / name / f"ingest_date={D}" / "part-0.parquet"
            assert pq.read_metadata(path).num_rows == section[kind], (kind, name)
    [metrics] = pq.read_table(out / "metrics" / "daily_metrics" / f"ingest_date={D}" / "part-0.parquet").to_pylist()
    for name in ENTITY_NAMES:
        for term in ("total", "clean", "quarantine", "dropped_duplicates"):
            assert metrics[f"{name}_{term}"] == report[name][term], (name, term)


# ----------------------------------------------------------------------------- reference runs


class Reference:
    def __init__(self, root: Path):
        self.root = root
        self.raw = root / "raw"
        self.out = root / "out"
        self.reports = root / "reports"
        self.home = root / "dagster_home"

    def snapshot(self) -> dict:
        return snapshot(self.out, self.reports)


@pytest.fixture(scope="module")
def refs(tmp_path_factory) -> dict[str, Reference]:
    """Clean CLI runs of data A and data B, each in a fresh folder (run side by side)."""
    a = Reference(tmp_path_factory.mktemp("ref_a"))
    b = Reference(tmp_path_factory.mktemp("ref_b"))
    generate_data_a(a.raw)
    write_data_b(b.raw)
    procs = [(start_cli(r.raw, r.out, r.reports, r.home, r.root / "cli.log"), r.root / "cli.log") for r in (a, b)]
    for proc, log in procs:
        finish(proc, log)
    for r in (a, b):
        assert hidden_temp_files(r.out) == []
        assert_report_matches_files(r.out, r.reports)
    ids_a = set(pq.read_table(a.out / "clean" / "events").column("event_id").to_pylist())
    ids_b = set(pq.read_table(b.out / "clean" / "events").column("event_id").to_pylist())
    assert ids_a and ids_b and not ids_a & ids_b
    return {"a": a, "b": b}


def work_copy_of(ref: Reference, root: Path) -> Reference:
    """A working folder holding ``ref``'s raw data and the outputs of its finished run."""
    work = Reference(root)
    for name in ("raw", "out", "reports"):
        shutil.copytree(ref.root / name, root / name)
    return work


# ----------------------------------------------------------------------------- killed mid-write


@pytest.mark.parametrize(
    "dataset, delay, rerun",
    [("clean/customers", "30", True), ("clean/events", "1", False)],
    ids=["killed-in-first-write", "killed-while-writing-events"],
)
def test_kill_during_partition_write_keeps_previous_version(refs, tmp_path, dataset, delay, rerun):
    """SIGKILL while a partition's new version sits complete in its staged file under .staging/
    (the test hook holds every write between the staged file and the move into place)."""
    a, b = refs["a"], refs["b"]
    work = work_copy_of(a, tmp_path / "work")
    before = work.snapshot()
    assert_same_snapshot(before, a.snapshot())
    old_events = pd.read_parquet(work.out / "clean" / "events")
    replace_raw_day(work.raw, b.raw)

    log = tmp_path / "killed.log"
    proc = start_cli(work.raw, work.out, work.reports, work.home, log, PRODQ_TEST_SLOW_WRITE_SECONDS=delay)
    deadline = time.monotonic() + 120
    try:
        while not staged_complete(work.out, dataset):
            if proc.poll() is not None:
                pytest.fail(f"CLI ended (rc {proc.returncode}) before writing {dataset}:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"no staged file of {dataset} appeared under {work.out / STAGING}:\n{log.read_text(errors='replace')}")
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # The partition being written still holds the previous version; every other visible
    # file is either the previous version or a complete new one, never anything else.
    after = work.snapshot()
    new = b.snapshot()
    assert sorted(after) == sorted(before)
    caught = [key for key in after if key.startswith(f"out/{dataset}/")]
    assert caught and all(same(after[key], before[key]) for key in caught)
    for key in after:
        assert same(after[key], before[key]) or (key in new and same(after[key], new[key])), key
    untouched = ("out/clean/events", "out/quarantine/events", "out/clean/orders", "out/metrics/daily_metrics", "out/metrics/hourly_events", "reports/")
    for key in after:
        if key.startswith(untouched):
            assert same(after[key], before[key]), key

    # Readers of the dataset see the old rows and no temp file.
    assert staged_complete(work.out, dataset), "the killed write should have left its staged file"
    assert set(staged_complete(work.out, dataset)) <= set(hidden_temp_files(work.out))
    pd.testing.assert_frame_equal(pd.read_parquet(work.out / "clean" / "events"), old_events)
    pd.read_parquet(work.out / dataset)  # the interrupted dataset is readable too

    # A rerun without the hook converges to a clean run of the new data in a fresh folder.
    if not rerun:
        return  # shown once, by the first case
    run_cli(work.raw, work.out, work.reports, work.home)
    assert_same_snapshot(work.snapshot(), new)
    assert_report_matches_files(work.out, work.reports)


# ----------------------------------------------------------------------------- concurrent runs


def test_two_runs_of_the_same_day_at_once(refs, tmp_path):
    """Same day, same output folder, same Dagster instance, started together: the runs
    queue on the partition lock and the result is exactly one clean run's."""
    a = refs["a"]
    work = Reference(tmp_path / "work")
    shutil.copytree(a.raw, work.raw)
    # An instance that has run before (a fresh one races on its own creation: see below).
    shutil.copytree(a.home, work.home)
    procs = [start_cli(work.raw, work.out, work.reports, work.home, tmp_path / f"run{i}.log") for i in (1, 2)]
    for i, proc in enumerate(procs, start=1):
        finish(proc, tmp_path / f"run{i}.log")

    assert_same_snapshot(work.snapshot(), a.snapshot())
    assert_report_matches_files(work.out, work.reports)
    assert hidden_temp_files(work.out) == []
    daily = pd.read_parquet(work.out / "metrics" / "daily_metrics")
    assert len(daily) == 1


# Imports first, then waits for a go file, then runs the real CLI entry point: the two
# processes reach the creation of the Dagster instance within a millisecond of each other.
_SYNCHRONIZED_CLI = """
import sys, time
from pathlib import Path
import dagster, prodq_dagster.definitions
from prodq_dagster.cli import main
go = Path(sys.argv[1])
(go.parent / f"ready-{sys.argv[2]}").touch()
while not go.exists():
    time.sleep(0.001)
sys.exit(main(sys.argv[3:]))
"""


def test_two_first_runs_on_a_fresh_dagster_home(refs, tmp_path):
    a = refs["a"]
    raw, out, reports, home = tmp_path / "raw", tmp_path / "out", tmp_path / "reports", tmp_path / "dagster_home"
    shutil.copytree(a.raw, raw)
    go = tmp_path / "go"
    args = ["--data_dir", str(raw), "--out_dir", str(out), "--reports_dir", str(reports), "--date", D]
    procs = []
    for i in (1, 2):
        log = tmp_path / f"run{i}.log"
        with open(log, "wb") as handle:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _SYNCHRONIZED_CLI, str(go), str(i), *args],
                    cwd=REPO_ROOT, env=cli_env(home), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{i}").exists() for i in (1, 2)):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            break  # let finish() report it
        time.sleep(0.01)
    go.touch()
    for i, proc in enumerate(procs, start=1):
        finish(proc, tmp_path / f"run{i}.log")
    assert_same_snapshot(snapshot(out, reports), a.snapshot())
    with dg.DagsterInstance.from_config(str(home)) as instance:  # still usable for later runs
        assert len(instance.get_run_records()) == 2


# ----------------------------------------------------------------------------- rerun after a redelivery


def test_rerun_with_replaced_raw_data_leaves_nothing_of_the_old_run(refs, tmp_path):
    a, b = refs["a"], refs["b"]
    work = work_copy_of(a, tmp_path / "work")  # the day as the first run left it
    old_ids = {
        (kind, name): set(pq.read_table(work.out / kind / name).column(KEYS[name]).drop_null().to_pylist())
        for kind in ("clean", "quarantine")
        for name in ENTITY_NAMES
    }
    replace_raw_day(work.raw, b.raw)

    run_cli(work.raw, work.out, work.reports, work.home)

    assert_same_snapshot(work.snapshot(), b.snapshot())
    assert_report_matches_files(work.out, work.reports)
    for (kind, name), before in old_ids.items():
        now = set(pd.read_parquet(work.out / kind / name)[KEYS[name]].dropna())
        assert not now & before, (kind, name, sorted(now & before)[:5])
    daily = pd.read_parquet(work.out / "metrics" / "daily_metrics")
    assert len(daily) == 1 and str(daily["ingest_date"].iloc[0]) == D
    hourly = pd.read_parquet(work.out / "metrics" / "hourly_events")
    report = json.loads((work.reports / f"ingest_date={D}" / "validation_report.json").read_text())
    assert len(hourly) == 24 and hourly["event_count"].sum() == report["events"]["clean"]
    assert report["events"]["files"] == ["events_raw.csv"]
    assert (report["events"]["total"], report["orders"]["total"], report["customers"]["total"]) == (14, 4, 5)
    master = pd.read_parquet(work.out / "master" / "customers")
    assert sorted(master["customer_id"]) == [f"NC{i}" for i in range(1, 6)]
    assert hidden_temp_files(work.out) == []
