"""Which runs of a date range may start now, when the range runs in parallel (CLI ``--workers``).

A day is processed in the phases of ``jobs.RANGE_PHASES``. Phase k of day D needs
phase k-1 done for every day up to D (the customer master and the volume baseline
look back, never forward), so the days of one phase can run side by side. Where the
look-backs already hold when a run starts, the later phases of that day join the same
run: every Dagster run costs about half a second of fixed work, as much as a whole
small phase. The first day of a range is always a single run, and so is any day whose
earlier days are finished. No Dagster import: this is plain bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

Task = tuple[int, date]  # (phase, day)


@dataclass(frozen=True)
class PlannedRun:
    day: date
    first_phase: int
    last_phase: int

    @property
    def phases(self) -> range:
        return range(self.first_phase, self.last_phase + 1)

    @property
    def tasks(self) -> list[Task]:
        return [(phase, self.day) for phase in self.phases]


def _finished_before(phase: int, day: date, days: list[date], done: set[Task], inclusive: bool) -> bool:
    return all((phase, d) in done for d in days if d < day or (inclusive and d == day))


def ready(phase: int, day: date, days: list[date], done: set[Task]) -> bool:
    """Phase ``phase`` of ``day`` may start: the phase before is done for every day up to it."""
    return phase == 0 or _finished_before(phase - 1, day, days, done, inclusive=True)


def last_joinable_phase(phase: int, day: date, days: list[date], done: set[Task], phases: int) -> int:
    """The last phase one run of ``day`` starting at ``phase`` can cover.

    Phase k+1 joins when every earlier day has finished phase k: the run itself finishes
    phase k for ``day`` before it starts phase k+1 (Dagster runs the assets of one run in
    dependency order).
    """
    last = phase
    while last + 1 < phases and _finished_before(last, day, days, done, inclusive=False):
        last += 1
    return last


def next_runs(days: list[date], phases: int, done: set[Task], started: set[Task], failed: set[date], free: int) -> list[PlannedRun]:
    """Up to ``free`` runs to start now, short ones first.

    The last phase (it finishes a day) goes first, then the first phase (it unblocks the
    long middle phase, which then keeps every worker busy). A day at or after a failed day
    gets no further runs: its look-backs would read a missing partition.
    """

    def priority(task: Task) -> tuple:
        phase, day = task
        return (phase != phases - 1, phase, day)

    waiting = sorted(
        (
            (phase, day)
            for phase in range(phases)
            for day in days
            if (phase, day) not in started and not any(d <= day for d in failed) and ready(phase, day, days, done)
        ),
        key=priority,
    )
    # A phase that joins a run is never waiting itself: the phase before it is not done yet.
    return [PlannedRun(day, phase, last_joinable_phase(phase, day, days, done, phases)) for phase, day in waiting[:free]]
