"""Scale-out on real services: a Dagster instance on PostgreSQL, raw input, outputs and reports on
an S3-compatible object store, runs queued by the daemon and launched as separate processes.

``dagster dev`` (webserver + daemon) runs with ``deploy/dagster.yaml`` (the cluster instance
config) against a throwaway PostgreSQL server and a loopback S3 server (``services.py``). A
partition backfill of the whole chain over three generated days is launched with the same
GraphQL mutation the UI's "Materialize partitions" dialog sends. Every output on the object
store must hold the same rows as a local CLI run of the same days; a rerun of a day through
the CLI on the object store replaces its partitions and leaves nothing stale.

This is the slowest test of the suite (the backfill daemon evaluates asset backfills every
30 s and the customer master chains the days one after another: about 3-4 minutes). It is
deliberately not marked or skipped: it runs in the default ``pytest`` run and in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from .conftest import REPO_ROOT
from .services import PostgresService, S3Service

DAYS = ["2025-12-10", "2025-12-11", "2025-12-12"]
ENTITIES = ("customers", "events", "orders")
DAGSTER = Path(sys.executable).parent / "dagster"
STARTUP_TIMEOUT = 120
BACKFILL_TIMEOUT = 420  # a clean run takes about 290 s on a loaded machine

EXPECTED_ASSETS = {
    "clean_customers", "quarantine_customers", "load_stats_customers",
    "clean_events", "quarantine_events", "load_stats_events",
    "clean_orders", "quarantine_orders", "load_stats_orders",
    "customer_master", "daily_metrics", "hourly_events", "validation_report", "alerts", "html_report",
}

LAUNCH_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PartitionSetNotFoundError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message stack }
  }
}
"""

ASSET_NODES = "{ assetNodes { assetKey { path } isMaterializable } }"

BACKFILL_TARGETS = """
query BackfillTargets($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      isAssetBackfill
      assetBackfillData {
        assetBackfillStatuses {
          ... on AssetPartitionsStatusCounts { assetKey { path } numPartitionsTargeted }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

TARGETED_FOR_ASSET = """
query Targeted($backfillId: String!, $assetKey: AssetKeyInput!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    ... on PartitionBackfill { partitionsTargetedForAssetKey(assetKey: $assetKey) { ranges { start end } partitionKeys } }
  }
}
"""

RUNS = """
{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }
"""

BACKFILL_STATUS = """
query BackfillStatus($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      status
      error { message }
      assetBackfillData {
        assetBackfillStatuses {
          ... on AssetPartitionsStatusCounts {
            assetKey { path } numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized numPartitionsFailed
          }
        }
      }
    }
    ... on BackfillNotFoundError { message }
    ... on PythonError { message }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the whole process group of ``dagster dev`` (webserver, daemon, code servers, runs), then SIGKILL."""
    if proc.poll() is None or _group_alive(proc.pid):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.time() + timeout
        while time.time() < deadline and (proc.poll() is None or _group_alive(proc.pid)):
            time.sleep(0.5)
        if proc.poll() is None or _group_alive(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    proc.wait(timeout=30)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Server:
    def __init__(self, port: int, proc: subprocess.Popen, log: Path, root: Path):
        self.port, self.proc, self.log, self.root = port, proc, log, root

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        assert not payload.get("errors"), f"GraphQL errors: {payload['errors']}"
        return payload["data"]


@pytest.fixture
def cluster(tmp_path, postgres_service: PostgresService, s3_service: S3Service) -> Server:
    """``dagster dev`` on the cluster instance config: PostgreSQL storage, queued runs, object storage."""
    root = tmp_path
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    raw = root / "raw"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "generate_data.py"), "--out_dir", str(raw), "--start", DAYS[0], "--end", DAYS[-1],
         "--customers", "100", "--events", "1000", "--orders", "100"],
        check=True, capture_output=True, cwd=REPO_ROOT,
    )
    prefix = f"scale-out-{root.name}"
    pafs.copy_files(str(raw), f"{s3_service.bucket}/{prefix}/raw", destination_filesystem=s3_service.filesystem())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODQ_", "DAGSTER_", "AWS_"))}
    env.update(
        **postgres_service.env(),
        **s3_service.env(),
        DAGSTER_HOME=str(home),
        PRODQ_RAW_DIR=s3_service.uri(f"{prefix}/raw"),
        PRODQ_OUT_DIR=s3_service.uri(f"{prefix}/out"),
        PRODQ_REPORTS_DIR=s3_service.uri(f"{prefix}/reports"),
        PRODQ_PARTITIONS_START="2025-12-01",
        PRODQ_LOCK_DIR=str(root / "locks"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        # Dagster walks the asset graph in set order when it expands a backfill's targets; a fixed
        # hash seed makes that walk (and so this test) reproducible from run to run.
        PYTHONHASHSEED="0",
    )
    port = free_port()
    log = root / "dagster_dev.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [str(DAGSTER), "dev", "-m", "prodq_dagster.definitions", "-p", str(port), "-h", "127.0.0.1"],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(port, proc, log, root)
    server.env, server.prefix, server.s3 = env, prefix, s3_service
    try:
        deadline = time.time() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster dev exited with {proc.returncode}\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{server.url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.time() > deadline:
                pytest.fail(f"dagster dev did not answer /server_info within {STARTUP_TIMEOUT}s\n{log_tail(log)}")
            time.sleep(0.5)
        yield server
    finally:
        stop_group(proc)


def materializable_keys(server: Server) -> list[list[str]]:
    nodes = server.graphql(ASSET_NODES)["assetNodes"]
    return sorted(n["assetKey"]["path"] for n in nodes if n["isMaterializable"])


# Dataset folder -> the columns that order its rows (every output is compared row for row).
DATASETS = {
    **{f"clean/{e}": None for e in ENTITIES},
    **{f"quarantine/{e}": None for e in ENTITIES},
    "master/customers": None,
    "metrics/daily_metrics": None,
    "metrics/hourly_events": None,
}


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


def _read(fs: pafs.FileSystem, base: str, dataset: str, day: str) -> pa.Table:
    return pq.read_table(f"{base}/{dataset}/ingest_date={day}/part-0.parquet", filesystem=fs)


def _json(fs: pafs.FileSystem, path: str) -> dict:
    with fs.open_input_stream(path) as handle:
        return json.loads(handle.read())


def _without_run(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in ("run_id", "generated_at")}


def assert_same_outputs(s3: pafs.FileSystem, s3_root: str, local_root: Path, day: str) -> None:
    """Every dataset, the load statistics and both reports of ``day`` equal the local CLI run's."""
    local = pafs.LocalFileSystem()
    for dataset in DATASETS:
        remote_rows = _sorted(_read(s3, f"{s3_root}/out", dataset, day))
        local_rows = _sorted(_read(local, str(local_root / "out"), dataset, day))
        assert remote_rows.num_rows > 0 or dataset.startswith("quarantine"), (dataset, day)
        assert remote_rows.equals(local_rows), f"{dataset} {day}: object-store rows differ from the local CLI run"
    for entity in ENTITIES:
        stats = f"metrics/load_stats/{entity}/ingest_date={day}/stats.json"
        assert _json(s3, f"{s3_root}/out/{stats}") == _json(local, str(local_root / "out" / stats))
    for name in ("validation_report.json", "alerts.json"):
        remote = _json(s3, f"{s3_root}/reports/ingest_date={day}/{name}")
        mine = _json(local, str(local_root / "reports" / f"ingest_date={day}" / name))
        assert _without_run(remote) == _without_run(mine), (name, day)


def object_listing(s3: pafs.FileSystem, base: str) -> list[str]:
    """Every object under ``base``, relative to it."""
    infos = s3.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    return sorted(i.path[len(base) + 1 :] for i in infos if i.type == pafs.FileType.File)


def test_backfill_on_postgres_and_object_storage_matches_a_local_run(cluster):
    server = cluster
    keys = materializable_keys(server)
    assert {k[-1] for k in keys} == EXPECTED_ASSETS, keys
    assert not [k for k in keys if k[-1].startswith("raw_")]

    # What the UI's "Materialize partitions" dialog sends for a pure asset backfill.
    params = {"partitionNames": DAYS, "assetSelection": [{"path": k} for k in keys], "fromFailure": False}
    launched = server.graphql(LAUNCH_BACKFILL, {"backfillParams": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    # The backfill must target exactly the three chosen days of every selected asset.
    targets = server.graphql(BACKFILL_TARGETS, {"backfillId": backfill_id})["partitionBackfillOrError"]
    assert targets["__typename"] == "PartitionBackfill" and targets["isAssetBackfill"], targets
    counts = {s["assetKey"]["path"][-1]: s["numPartitionsTargeted"] for s in targets["assetBackfillData"]["assetBackfillStatuses"]}
    spilled = {name: n for name, n in counts.items() if n != len(DAYS)}
    if spilled:
        ranges = {
            name: server.graphql(TARGETED_FOR_ASSET, {"backfillId": backfill_id, "assetKey": {"path": [name]}})[
                "partitionBackfillOrError"]["partitionsTargetedForAssetKey"]
            for name in spilled
        }
        pytest.fail(
            f"a backfill of {DAYS[0]}..{DAYS[-1]} targets other partitions too: {spilled} -> {ranges}. "
            "Those extra partitions have no upstream data, so their runs fail and the backfill cannot succeed."
        )
    assert set(counts) == EXPECTED_ASSETS

    deadline = time.time() + BACKFILL_TIMEOUT
    status, seen = None, []
    while time.time() < deadline:
        backfill = server.graphql(BACKFILL_STATUS, {"backfillId": backfill_id})["partitionBackfillOrError"]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        status = backfill["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "COMPLETED_SUCCESS":
            break
        if status in ("FAILED", "FAILING", "CANCELED", "CANCELING", "COMPLETED_FAILED"):
            pytest.fail(f"backfill {backfill_id} ended {status}: {json.dumps(backfill, indent=1)}\n{log_tail(server.log)}")
        time.sleep(2)
    else:
        pytest.fail(f"backfill {backfill_id} not done after {BACKFILL_TIMEOUT}s (statuses {seen})\n{log_tail(server.log)}")

    for item in backfill["assetBackfillData"]["assetBackfillStatuses"]:
        assert item["numPartitionsMaterialized"] == len(DAYS) and item["numPartitionsFailed"] == 0, item

    # Runs were launched as their own processes and recorded in PostgreSQL.
    runs = server.graphql(RUNS)["runsOrError"]["results"]
    assert runs and all(r["status"] == "SUCCESS" for r in runs), runs
    partitions = {t["value"] for r in runs for t in r["tags"] if t["key"] == "dagster/partition"}
    assert partitions == set(DAYS)

    root, s3 = server.root, server.s3.filesystem()
    s3_root = f"{server.s3.bucket}/{server.prefix}"
    # The same days through the CLI on local folders, as the reference.
    local = root / "local"
    cli_env = {k: v for k, v in server.env.items() if not k.startswith("PRODQ_")}
    cli_env["DAGSTER_HOME"] = str(root / "local_home")
    cli = [sys.executable, "-m", "prodq_dagster", "--start", DAYS[0], "--end", DAYS[-1]]
    done = subprocess.run(
        cli + ["--data_dir", str(root / "raw"), "--out_dir", str(local / "out"), "--reports_dir", str(local / "reports")],
        cwd=REPO_ROOT, env=cli_env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    for day in DAYS:
        assert_same_outputs(s3, s3_root, local, day)
    before = object_listing(s3, f"{s3_root}/out")
    # One partition file (or stats.json) per asset and day, nothing staged or stale.
    assert not [k for k in before if k.startswith(".") or "/." in k], before
    assert {k.rsplit("/", 2)[-2] for k in before if "ingest_date=" in k} == {f"ingest_date={d}" for d in DAYS}

    # A rerun of one day through the CLI, straight on the object store and the PostgreSQL
    # instance, replaces its partitions whole: same objects, same rows, nothing left over.
    s3_env = {**server.env}
    rerun = subprocess.run(
        [sys.executable, "-m", "prodq_dagster", "--date", DAYS[1],
         "--data_dir", s3_env["PRODQ_RAW_DIR"], "--out_dir", s3_env["PRODQ_OUT_DIR"], "--reports_dir", s3_env["PRODQ_REPORTS_DIR"]],
        cwd=REPO_ROOT, env=s3_env, capture_output=True, text=True, timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert object_listing(s3, f"{s3_root}/out") == before
    for day in DAYS:
        assert_same_outputs(s3, s3_root, local, day)


def test_sensor_sees_a_new_day_on_the_object_store(s3_service: S3Service, tmp_path, monkeypatch):
    """The raw-folder sensor lists an s3:// raw root, requests the new day, and records its
    arrival on the object-store output root."""
    import dagster as dg

    from prodq_dagster.core.arrivals import read_arrivals
    from prodq_dagster.core.storage import open_store
    from prodq_dagster.definitions import build_definitions
    from prodq_dagster.sensors import RAW_SENSOR_NAME
    from prodq_dagster.settings import ProdqSettings

    for name, value in s3_service.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    prefix = f"sensor-{tmp_path.name}"
    settings = ProdqSettings(
        raw_dir=s3_service.uri(f"{prefix}/raw"),
        out_dir=s3_service.uri(f"{prefix}/out"),
        reports_dir=s3_service.uri(f"{prefix}/reports"),
        partitions_start="2025-12-01",
        lock_dir=str(tmp_path / "locks"),
    )
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def(RAW_SENSOR_NAME)
    raw = open_store(settings.raw_dir)
    with dg.DagsterInstance.get() as instance:
        def tick(cursor):
            with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=defs.resources) as context:
                result = sensor.evaluate_tick(context)
            return [r.partition_key for r in result.run_requests or []], result.cursor

        requested, cursor = tick(None)
        assert requested == []
        for prefix_name in ("customers_raw", "events_raw", "orders_raw"):
            raw.write_bytes(f"ingest_date=2025-12-10/{prefix_name}.csv", b"id\n1\n")
        requested, cursor = tick(cursor)
        assert requested == ["2025-12-10"]
        assert tick(cursor)[0] == []  # nothing changed: no second request
        raw.write_bytes("ingest_date=2025-12-10/events_raw_2.csv", b"id\n2\n")
        assert tick(cursor)[0] == ["2025-12-10"]  # a new file on the store: the day runs again
    assert "2025-12-10" in read_arrivals(open_store(settings.out_dir))
