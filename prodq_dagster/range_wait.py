"""Look-backs across the runs of a parallel CLI range: wait for the earlier days inside a run.

With ``--workers N`` the CLI runs each day of a range as one run of the whole chain, N days
side by side. Two assets read earlier days: the customer master reads their clean customers,
the alerts' volume baseline reads their daily metrics. A run of day D carries, in the run tag
``RANGE_WAIT_TAG``, the ids of the earlier days' runs that were still going when it started
(the UI shows the tag on the run page). Before reading, those two assets wait until each of
these runs has materialized what they read, in a step that succeeded. If such a run ends
without it, the waiting step fails: an earlier day failed, so this day stops there.

Runs started any other way (UI, backfills, the schedule, the sensor, ``--workers 1``) carry
no tag and never wait: there the asset graph's own dependencies order the days.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import dagster as dg

RANGE_WAIT_TAG = "prodq/waits_for_runs"
POLL_SECONDS = 0.1
# A waited-for run is created by its worker a moment after this run's; a run that has not
# appeared after this long belongs to a worker that died.
START_TIMEOUT_SECONDS = 300.0


def wait_tag(run_ids: Iterable[str]) -> dict[str, str]:
    """The run tags that make a run wait for ``run_ids`` (none for an empty list)."""
    ids = ",".join(run_ids)
    return {RANGE_WAIT_TAG: ids} if ids else {}


def runs_to_wait_for(tags: Mapping[str, str]) -> list[str]:
    return [run_id for run_id in tags.get(RANGE_WAIT_TAG, "").split(",") if run_id]


def produced(instance: dg.DagsterInstance, run_id: str, asset: str) -> bool:
    """``asset`` was materialized in run ``run_id`` by a step that has succeeded."""
    records = instance.get_records_for_run(
        run_id, of_type={dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.STEP_SUCCESS}
    ).records
    entries = [record.event_log_entry for record in records]
    succeeded = {e.step_key for e in entries if e.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS}
    return any(
        e.step_key in succeeded and e.asset_materialization.asset_key == dg.AssetKey(asset)
        for e in entries
        if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    )


def wait_for_runs(
    instance: dg.DagsterInstance,
    run_ids: Iterable[str],
    asset: str,
    poll_seconds: float = POLL_SECONDS,
    start_timeout_seconds: float = START_TIMEOUT_SECONDS,
) -> None:
    """Block until every run in ``run_ids`` has produced ``asset``; ``dg.Failure`` if one cannot."""
    for run_id in run_ids:
        asked = time.monotonic()
        while not produced(instance, run_id, asset):
            run = instance.get_run_by_id(run_id)
            if run is None and time.monotonic() - asked > start_timeout_seconds:
                raise dg.Failure(f"not run further: the run {run_id} of an earlier day of the range never started")
            # Read the events again after the status: the run may have produced it and ended in between.
            if run is not None and run.is_finished and not produced(instance, run_id, asset):
                day = run.tags.get("dagster/partition", "an earlier day")
                raise dg.Failure(
                    f"not run further: the run of {day} ended without {asset}, which this day reads "
                    "(an earlier day of the range failed)"
                )
            time.sleep(poll_seconds)


def wait_for_earlier_days(context: dg.AssetExecutionContext, asset: str) -> None:
    """In a parallel CLI range, wait until the earlier days still running have produced ``asset``."""
    run_ids = runs_to_wait_for(context.run.tags)
    if not run_ids:
        return
    started = time.monotonic()
    wait_for_runs(context.instance, run_ids, asset)
    context.log.info(f"waited {time.monotonic() - started:.2f} s for {asset} of {len(run_ids)} earlier day(s) of the range")
