"""Is a day's raw folder late? Judged from the sensor's arrival record, not file mtimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone


@dataclass(frozen=True)
class Lateness:
    late: bool
    first_seen: str | None
    deadline: datetime
    message: str


def lateness(day: date, arrivals: dict[str, str], deadline_hour_utc: int, now: datetime) -> Lateness:
    """A day is late when it was first seen after the deadline, or is still unseen once the deadline passed."""
    deadline = datetime.combine(day, time(deadline_hour_utc), tzinfo=timezone.utc)
    first_seen = arrivals.get(day.isoformat())
    if first_seen is None:
        late = now >= deadline
        message = f"raw folder of {day} not seen yet" + (f" (deadline {deadline:%H:%M} UTC passed)" if late else "")
        return Lateness(late, None, deadline, message)
    late = datetime.fromisoformat(first_seen) > deadline
    verdict = "after" if late else "before"
    return Lateness(late, first_seen, deadline, f"raw folder of {day} first seen {first_seen}, {verdict} the {deadline:%H:%M} UTC deadline")
