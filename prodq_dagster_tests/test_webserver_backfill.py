"""End to end through the Dagster UI's API: ``dagster dev`` (webserver + daemon) and a
partition backfill of the whole chain over three generated days, launched with the same
GraphQL mutation the UI's "Materialize partitions" dialog sends.

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

import pyarrow.parquet as pq
import pytest

from .conftest import REPO_ROOT

DAYS = ["2025-12-10", "2025-12-11", "2025-12-12"]
ENTITIES = ("customers", "events", "orders")
DAGSTER = Path(sys.executable).parent / "dagster"
STARTUP_TIMEOUT = 120
BACKFILL_TIMEOUT = 420  # a clean run takes about 290 s on a loaded machine

EXPECTED_ASSETS = {
    "clean_customers", "quarantine_customers",
    "clean_events", "quarantine_events",
    "clean_orders", "quarantine_orders",
    "customer_master", "daily_metrics", "hourly_events", "validation_report", "alerts",
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
def dev_server(tmp_path) -> Server:
    root = tmp_path
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml.template", home / "dagster.yaml")
    raw = root / "raw"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "generate_data.py"), "--out_dir", str(raw), "--start", DAYS[0], "--end", DAYS[-1],
         "--customers", "100", "--events", "1000", "--orders", "100"],
        check=True, capture_output=True, cwd=REPO_ROOT,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODQ_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        PRODQ_RAW_DIR=str(raw),
        PRODQ_OUT_DIR=str(root / "out"),
        PRODQ_REPORTS_DIR=str(root / "reports"),
        PRODQ_PARTITIONS_START="2025-12-01",
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


def check_day_outputs(out: Path, reports: Path, manifest: dict, day: str) -> None:
    part = f"ingest_date={day}/part-0.parquet"
    report = json.loads((reports / f"ingest_date={day}" / "validation_report.json").read_text())
    alerts = json.loads((reports / f"ingest_date={day}" / "alerts.json").read_text())
    assert alerts["ingest_date"] == day
    expected = manifest["days"][day]["expected"]
    for entity in ENTITIES:
        clean = pq.read_table(out / "clean" / entity / part).num_rows
        quarantine = pq.read_table(out / "quarantine" / entity / part).num_rows
        assert json.loads((out / "metrics" / "load_stats" / entity / part.replace("part-0.parquet", "stats.json")).read_text())["total"] >= 0
        assert (clean, quarantine) == (report[entity]["clean"], report[entity]["quarantine"]), (day, entity)
        assert (clean, quarantine) == (expected[entity]["clean"], expected[entity]["quarantine"]), (day, entity)
    assert pq.read_table(out / "master" / "customers" / part).num_rows > 0
    assert pq.read_table(out / "metrics" / "daily_metrics" / part).num_rows == 1
    assert pq.read_table(out / "metrics" / "hourly_events" / part).num_rows == 24


def test_ui_partition_backfill_of_the_whole_chain(dev_server):
    server = dev_server
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

    root = server.root
    out, reports = root / "out", root / "reports"
    manifest = json.loads((root / "raw" / "manifest.json").read_text())
    for day in DAYS:
        check_day_outputs(out, reports, manifest, day)
    # Nothing outside the three days was written.
    assert sorted(p.name for p in reports.iterdir()) == [f"ingest_date={d}" for d in DAYS]
    assert {p.parent.name for p in out.rglob("part-0.parquet")} == {f"ingest_date={d}" for d in DAYS}
