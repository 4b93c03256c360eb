"""Raw-folder arrival tracking: what the sensor has seen, and which days need a run.

Plain Python (no Dagster): ``plan_runs`` takes the sensor's previous state and a
scan of the raw folder and returns the new state plus the days to run, so the
sensor itself stays a thin wrapper and the decisions are testable on their own.

State (the sensor cursor, JSON): per day the time it was first seen, the
fingerprint of its files (name, size, mtime) and the fingerprint last submitted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .contract import ENTITIES, parse_day
from .reader import find_files
from .storage import DAY_PREFIX, Store

# Under the output root: first-seen times of the raw day folders.
ARRIVALS_FILE = "_state/arrivals.json"


@dataclass(frozen=True)
class DayScan:
    day: date
    files: dict[str, tuple[int, int]]  # file name -> (size, mtime in ms)
    entities_present: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return len(self.entities_present) == len(ENTITIES)

    def fingerprint(self, entity: str | None = None) -> str:
        prefix = ENTITIES[entity].file_prefix if entity else ""
        items = sorted((n, s) for n, s in self.files.items() if n.startswith(prefix))
        return hashlib.sha1(json.dumps(items).encode()).hexdigest()[:16]


NO_FILES = hashlib.sha1(b"[]").hexdigest()[:16]


@dataclass
class RunPlan:
    day: date
    run_key: str
    reason: str
    serial: bool = False  # part of a customer-master chain: must run in submission order


@dataclass
class PlanResult:
    state: dict
    runs: list[RunPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def scan_raw_root(raw: Store) -> tuple[list[DayScan], list[str]]:
    """Day folders under the raw root, and the names of folders that are not valid days."""
    scans, bad = [], []
    for child in raw.listdir():
        if not child.is_dir or child.is_hidden:
            continue
        try:
            if not child.name.startswith(DAY_PREFIX):
                raise ValueError
            day = parse_day(child.name[len(DAY_PREFIX) :])
        except ValueError:
            bad.append(child.name)
            continue
        listing = {e.name: e for e in raw.listdir(child.name)}
        files, present = {}, []
        for name, entity in ENTITIES.items():
            found = [rel.rpartition("/")[2] for rel in find_files(raw, child.name, entity)]
            if found:
                present.append(name)
            for file_name in found:
                entry = listing[file_name]
                files[file_name] = (entry.size, int(entry.mtime * 1000))
        scans.append(DayScan(day, files, tuple(present)))
    return scans, bad


def plan_runs(
    state: dict,
    scans: list[DayScan],
    now: datetime,
    first_partition: date,
    last_partition: date,
    grace: timedelta,
) -> PlanResult:
    """Decide which days to run this tick.

    A day runs when its file set is complete (or its grace period is over) and its
    fingerprint differs from the last one submitted. When a day's customers files
    changed, every later day that already ran is run again (its customer master
    changed); those runs are marked serial so they execute after the customers day.
    """
    days: dict[str, dict] = {k: dict(v) for k, v in state.get("days", {}).items()}
    result = PlanResult(state={"days": days})
    changed_customers: list[date] = []
    for scan in sorted(scans, key=lambda s: s.day):
        key = scan.day.isoformat()
        entry = days.setdefault(key, {"first_seen": now.isoformat()})
        fingerprint = scan.fingerprint()
        entry["fingerprint"] = fingerprint
        if not scan.files:
            entry["status"] = "empty"
            continue
        if not first_partition <= scan.day <= last_partition:
            entry["status"] = "pending_out_of_range"
            result.notes.append(f"{key}: not a partition yet (range {first_partition}..{last_partition}); kept pending")
            continue
        if not scan.complete:
            waited = now - datetime.fromisoformat(entry["first_seen"])
            if waited < grace:
                entry["status"] = "waiting_for_feeds"
                missing = sorted(set(ENTITIES) - set(scan.entities_present))
                result.notes.append(f"{key}: waiting for {', '.join(missing)} (grace left {grace - waited})")
                continue
        if entry.get("submitted") == fingerprint:
            continue
        customers_fp = scan.fingerprint("customers")
        if entry.get("customers_submitted", NO_FILES) != customers_fp:
            changed_customers.append(scan.day)
        reason = "new day" if not entry.get("submitted") else "files changed"
        if not scan.complete:
            reason += " (incomplete feed set after grace period)"
        result.runs.append(RunPlan(scan.day, f"{key}:{fingerprint}", reason))
        entry.update(submitted=fingerprint, customers_submitted=customers_fp, status="submitted")

    if changed_customers:
        first_change = min(changed_customers)
        requested = {r.day for r in result.runs}
        for run in result.runs:
            if run.day >= first_change:
                run.serial = True
        for key, entry in sorted(days.items()):
            later = date.fromisoformat(key)
            if later > first_change and later not in requested and entry.get("status") == "submitted":
                result.runs.append(
                    RunPlan(later, f"{key}:{entry['submitted']}:master-{first_change}-{now.isoformat()}", f"customers of {first_change} changed", True)
                )
        result.runs.sort(key=lambda r: r.day)
    return result


def record_arrivals(out: Store, state: dict) -> None:
    """Persist first-seen times where the freshness check and the alerts can read them."""
    known = read_arrivals(out)
    merged = {**{k: v["first_seen"] for k, v in state.get("days", {}).items()}, **known}
    if merged != known:
        out.write_json(ARRIVALS_FILE, dict(sorted(merged.items())))


def read_arrivals(out: Store) -> dict[str, str]:
    return out.read_json(ARRIVALS_FILE) or {}


def master_history_gaps(raw: Store, clean_customer_days: list[date], day: date, since: date = date.min) -> list[date]:
    """Days in [``since``, ``day``) whose raw folder holds customers files but that have no clean customers partition.

    Their customers are missing from the master of ``day``, so events and orders of those
    customers would be counted as orphans.
    """
    scans, _ = scan_raw_root(raw)
    written = set(clean_customer_days)
    return [s.day for s in scans if since <= s.day < day and "customers" in s.entities_present and s.day not in written]
