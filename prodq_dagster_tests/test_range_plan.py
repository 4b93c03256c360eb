"""range_plan: which runs of a parallel range may start, and which phases join one run."""

from __future__ import annotations

import heapq
from datetime import date, timedelta

import pytest

from prodq_dagster.core.range_plan import PlannedRun, next_runs
from prodq_dagster.jobs import RANGE_PHASES

PHASES = len(RANGE_PHASES)
DAYS = [date(2025, 12, 1) + timedelta(days=i) for i in range(8)]


def all_tasks(days):
    return {(phase, day) for phase in range(PHASES) for day in days}


def test_the_first_day_is_one_run_and_the_next_days_start_with_their_first_phase():
    runs = next_runs(DAYS, PHASES, done=set(), started=set(), failed=set(), free=3)
    assert runs == [PlannedRun(DAYS[0], 0, PHASES - 1), PlannedRun(DAYS[1], 0, 0), PlannedRun(DAYS[2], 0, 0)]


def test_a_day_whose_earlier_days_are_finished_is_one_run():
    done = all_tasks(DAYS[:2]) | {(0, d) for d in DAYS}
    runs = next_runs(DAYS, PHASES, done=done, started=set(done), failed=set(), free=2)
    # Day 3 needs nothing more from earlier days; day 4 must wait for day 3's middle phase
    # before its last phase may run.
    assert runs == [PlannedRun(DAYS[2], 1, PHASES - 1), PlannedRun(DAYS[3], 1, 1)]


def test_no_run_starts_for_a_failed_day_or_any_later_day():
    done = {(0, DAYS[0]), (0, DAYS[1])}
    runs = next_runs(DAYS, PHASES, done=done, started=set(done), failed={DAYS[1]}, free=8)
    assert runs and all(run.day < DAYS[1] for run in runs)


@pytest.mark.parametrize("workers", [2, 3])
def test_a_simulated_range_runs_every_phase_once_after_its_look_backs(workers):
    """Play a range through with made-up durations (the middle phase is long) and check
    every run, when it starts, against the look-back rule itself."""
    duration = {0: 1.0, 1: 6.0, 2: 1.0}
    done: set = set()
    started: set = set()
    clock, events, runs = 0.0, [], []
    while True:
        free = workers - len(events)
        for run in next_runs(DAYS, PHASES, done, started, set(), free):
            for phase, day in run.tasks:
                assert (phase, day) not in started
                # The phase before is done for every earlier day, and for this day it is
                # done already or runs earlier in this same run.
                if phase > 0:
                    assert all((phase - 1, d) in done for d in DAYS if d < day)
                    assert (phase - 1, day) in done or phase > run.first_phase
            started.update(run.tasks)
            runs.append(run)
            end = clock + sum(duration[p] for p in run.phases)
            heapq.heappush(events, (end, len(runs), run))
        if not events:
            break
        clock, _, finished = heapq.heappop(events)
        done.update(finished.tasks)
    assert done == all_tasks(DAYS)
    assert len(runs) < PHASES * len(DAYS)  # some phases joined a run
