"""range_wait: a run of a parallel CLI range waits inside the run for the earlier days it reads.

Real runs on a real instance: a day whose run is tagged with an earlier day's run id must
not build its customer master before that run has written its clean customers, also when
the earlier run starts later (in another process); a waited-for run that ends without the
asset, or never starts, fails the waiting step with a clear message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import dagster as dg
import pyarrow.parquet as pq
import pytest

from prodq_dagster.definitions import build_definitions
from prodq_dagster.jobs import DAILY_JOB_NAME
from prodq_dagster.range_wait import RANGE_WAIT_TAG, produced, runs_to_wait_for, wait_for_runs, wait_tag

from .conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import generate_data  # noqa: E402

D1, D2 = "2025-12-10", "2025-12-11"

# The earlier day, in its own process as a CLI worker would run it, with a run id chosen in advance.
EARLIER_DAY = """
import sys, time
import dagster as dg
from prodq_dagster.definitions import build_definitions
job = build_definitions().resolve_job_def("prodq_daily")
time.sleep(float(sys.argv[3]))
result = job.execute_in_process(partition_key=sys.argv[1], instance=dg.DagsterInstance.get(), run_id=sys.argv[2], raise_on_error=False)
sys.exit(0 if result.success else 1)
"""


@pytest.fixture
def job(paths, dagster_home, monkeypatch):
    generate_data.generate(paths.raw_dir, D1, D2, seed=2, customers=60, events=400, orders=80)
    for name, value in (("RAW_DIR", paths.raw_dir), ("OUT_DIR", paths.out_dir), ("REPORTS_DIR", paths.reports_dir), ("PARTITIONS_START", paths.partitions_start)):
        monkeypatch.setenv(f"PRODQ_{name}", value)
    return build_definitions(paths).resolve_job_def(DAILY_JOB_NAME)


def _clean_customer_ids(out_dir: str, day: str) -> set[str]:
    return set(pq.read_table(f"{out_dir}/clean/customers/ingest_date={day}").column("customer_id").to_pylist())


def _master_ids(out_dir: str, day: str) -> set[str]:
    return set(pq.read_table(f"{out_dir}/master/customers/ingest_date={day}").column("customer_id").to_pylist())


def test_the_tag_round_trips_and_no_runs_means_no_tag():
    assert wait_tag([]) == {}
    tags = wait_tag(["a", "b"])
    assert list(tags) == [RANGE_WAIT_TAG] and runs_to_wait_for(tags) == ["a", "b"]
    assert runs_to_wait_for({}) == []


def test_a_day_waits_for_the_customers_of_an_earlier_day_that_starts_later(job, paths, instance):
    earlier = str(uuid.uuid4())
    worker = subprocess.Popen([sys.executable, "-c", EARLIER_DAY, D1, earlier, "1.0"], cwd=REPO_ROOT, env=dict(os.environ))
    try:
        started = time.monotonic()
        result = job.execute_in_process(partition_key=D2, instance=instance, tags=wait_tag([earlier]), raise_on_error=False)
        waited = time.monotonic() - started
    finally:
        assert worker.wait(timeout=300) == 0
    assert result.success
    # The master of D2 was built after D1's clean customers existed, so it contains them all.
    assert _clean_customer_ids(paths.out_dir, D1) <= _master_ids(paths.out_dir, D2)
    logs = [e.user_message for e in instance.all_logs(result.run_id) if "waited" in (e.user_message or "")]
    assert any("clean_customers" in m for m in logs) and any("daily_metrics" in m for m in logs), logs
    assert waited > 1.0
    assert produced(instance, earlier, "daily_metrics") and not produced(instance, result.run_id, "no_such_asset")


def test_a_waited_for_run_that_ends_without_the_asset_stops_the_day(job, instance):
    customers_only = str(uuid.uuid4())
    job.execute_in_process(
        partition_key=D1, instance=instance, run_id=customers_only,
        asset_selection=[dg.AssetKey("clean_customers"), dg.AssetKey("quarantine_customers")],
    )
    assert produced(instance, customers_only, "clean_customers")
    wait_for_runs(instance, [customers_only], "clean_customers")  # returns at once
    with pytest.raises(dg.Failure, match=f"run of {D1} ended without daily_metrics"):
        wait_for_runs(instance, [customers_only], "daily_metrics", poll_seconds=0.01)

    result = job.execute_in_process(partition_key=D2, instance=instance, tags=wait_tag([customers_only]), raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["alerts"]
    assert "not run further" in failures[0].event_specific_data.error.message


def test_a_waited_for_run_that_never_starts_fails_after_the_timeout(instance):
    with pytest.raises(dg.Failure, match="never started"):
        wait_for_runs(instance, [str(uuid.uuid4())], "clean_customers", poll_seconds=0.01, start_timeout_seconds=0.2)
