"""What the command line prints: a line per finished day, a roll-up, a verdict, or one JSON document.

Day summaries are built from the day's ``validation_report.json`` and ``alerts.json`` (the
same documents the UI and the HTML report show), so the terminal never tells a different
story. On a terminal a progress bar (rich) sits below the day lines; piped output gets
plain lines only.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import date

from .core.alerts import CRITICAL, FRESHNESS, WARNING
from .core.contract import ENTITIES

OK, FAILED, NOT_RUN, MISSING = "ok", "failed", "not run", "no raw folder"
# The CLI never records arrivals (only the raw-folder sensor does), so this alert cannot apply.
NEVER_IN_CLI = {FRESHNESS}


@dataclass(frozen=True)
class EntityCounts:
    total: int
    clean: int
    quarantine: int
    dropped_duplicates: int
    malformed: int
    feed_present: bool = True
    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def quarantine_rate(self) -> float:
        return self.quarantine / self.total if self.total else 0.0


@dataclass(frozen=True)
class Alert:
    severity: str
    type: str
    message: str


@dataclass(frozen=True)
class DaySummary:
    day: date
    status: str
    seconds: float | None = None
    entities: dict[str, EntityCounts] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    unmatched_files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_documents(cls, day: date, seconds: float, report: dict, alerts: dict) -> DaySummary:
        entities = {
            name: EntityCounts(
                report[name]["total"],
                report[name]["clean"],
                report[name]["quarantine"],
                report[name]["dropped_duplicates"],
                report[name]["malformed"],
                report[name]["feed_present"],
                dict(report[name]["by_reason"]),
            )
            for name in ENTITIES
        }
        return cls(
            day,
            OK,
            seconds,
            entities,
            [Alert(a["severity"], a["type"], a["message"]) for a in alerts["alerts"]],
            [s for s in alerts["skipped"] if s["type"] not in NEVER_IN_CLI],
            list(report.get("unmatched_files", [])),
        )

    def alert_count(self, severity: str) -> int:
        return sum(1 for a in self.alerts if a.severity == severity)


@dataclass
class Outputs:
    out_dir: str
    reports_dir: str
    index_html: str | None = None


# ----------------------------------------------------------------------------- text


def _num(n: int) -> str:
    return f"{n:,}"


def day_lines(summary: DaySummary, position: int, count: int, verbose: bool = False) -> list[str]:
    """``[3/11] 2025-12-12  ok  1.3 s  events 5,460 in / 5,010 clean (8.2% quarantined) ...`` and
    one indented line per alert (per error for a failed day)."""
    head = f"[{position}/{count}] {summary.day}  {summary.status}"
    if summary.seconds is not None:
        head += f"  {summary.seconds:.1f} s"
    if summary.status == NOT_RUN:
        return [f"{head}: {summary.errors[0]}" if summary.errors else head]
    if summary.status != OK:
        return [head]  # the errors went to stderr as they happened
    parts = []
    for name in ("events", "orders", "customers"):
        c = summary.entities[name]
        if not c.feed_present:
            parts.append(f"{name}: no file")
            continue
        parts.append(f"{name} {_num(c.total)} in / {_num(c.clean)} clean ({c.quarantine_rate:.1%} quarantined)")
    lines = [f"{head}  " + ", ".join(parts)]
    for alert in summary.alerts:
        lines.append(f"  ALERT {alert.severity} {alert.type}: {alert.message}")
    if summary.unmatched_files:
        lines.append(f"  unmatched files (no feed takes them): {', '.join(summary.unmatched_files)}")
    if verbose:
        lines += [f"  skipped {s['type']}: {s['reason']}" for s in summary.skipped]
    return lines


def verdict(summaries: list[DaySummary]) -> str:
    ran = [s for s in summaries if s.status == OK]
    failed = sum(1 for s in summaries if s.status == FAILED)
    not_run = sum(1 for s in summaries if s.status == NOT_RUN)
    missing = sum(1 for s in summaries if s.status == MISSING)
    text = f"Done: {len(summaries)} day{'' if len(summaries) == 1 else 's'}, {len(ran)} ok, {failed} failed"
    if not_run:
        text += f", {not_run} not run"
    if missing:
        text += f", {missing} without a raw folder"
    critical = sum(s.alert_count(CRITICAL) for s in ran)
    warning = sum(s.alert_count(WARNING) for s in ran)
    return text + f"; alerts {critical} critical, {warning} warning"


def totals(summaries: list[DaySummary]) -> dict[str, EntityCounts]:
    ran = [s for s in summaries if s.status == OK]
    result = {}
    for name in ENTITIES:
        counts = [s.entities[name] for s in ran]
        reasons: dict[str, int] = {}
        for c in counts:
            for code, n in c.by_reason.items():
                reasons[code] = reasons.get(code, 0) + n
        result[name] = EntityCounts(
            sum(c.total for c in counts),
            sum(c.clean for c in counts),
            sum(c.quarantine for c in counts),
            sum(c.dropped_duplicates for c in counts),
            sum(c.malformed for c in counts),
            any(c.feed_present for c in counts),
            dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
    return result


def rollup_lines(summaries: list[DaySummary], outputs: Outputs) -> list[str]:
    ran = [s for s in summaries if s.status == OK]
    lines = ["", f"Totals over {len(ran)} processed day(s)"]
    lines.append(f"  {'entity':<10} {'raw in':>12} {'clean':>12} {'quarantined':>20} {'dupes dropped':>14} {'malformed':>10}")
    summed = totals(summaries)
    for name, c in summed.items():
        quarantined = f"{_num(c.quarantine)} ({c.quarantine_rate:.1%})"
        lines.append(f"  {name:<10} {_num(c.total):>12} {_num(c.clean):>12} {quarantined:>20} {_num(c.dropped_duplicates):>14} {_num(c.malformed):>10}")
    for name, c in summed.items():
        top = ", ".join(f"{code} {_num(n)}" for code, n in list(c.by_reason.items())[:3])
        if top:
            lines.append(f"  top {name} reasons: {top}")
    by_type: dict[str, int] = {}
    for s in ran:
        for a in s.alerts:
            key = f"{a.type} ({a.severity})"
            by_type[key] = by_type.get(key, 0) + 1
    alerts = ", ".join(f"{k} x{n}" for k, n in sorted(by_type.items())) or "none"
    lines.append(f"Alerts: {alerts}")
    lines.append(f"Outputs: {outputs.out_dir} (clean/, quarantine/, master/, metrics/); reports: {outputs.reports_dir}")
    if outputs.index_html:
        lines.append(f"HTML report: {outputs.index_html}")
    return lines


def as_json(summaries: list[DaySummary], outputs: Outputs, exit_code: int) -> str:
    def day(s: DaySummary) -> dict:
        data = asdict(s)
        data["day"] = s.day.isoformat()
        for name, c in s.entities.items():
            data["entities"][name]["quarantine_rate"] = round(c.quarantine_rate, 6)
        return data

    document = {
        "days": [day(s) for s in summaries],
        "totals": {name: {**asdict(c), "quarantine_rate": round(c.quarantine_rate, 6)} for name, c in totals(summaries).items()},
        "outputs": asdict(outputs),
        "verdict": verdict(summaries),
        "exit_code": exit_code,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


# ----------------------------------------------------------------------------- printing


class Reporter:
    """Prints each day as it finishes; a progress bar on a terminal; nothing but JSON with ``json``."""

    def __init__(self, total: int, mode: str = "text", verbose: bool = False, stream=None):
        self.total, self.mode, self.verbose = total, mode, verbose
        self.stream = stream or sys.stdout
        self.done = 0
        self.progress = None
        if mode == "text" and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=True,
            )  # fmt: skip
            self.task = self.progress.add_task("processing", total=total)
            self.progress.start()

    def starting(self, day: date) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=f"processing {day}")

    def note(self, text: str) -> None:
        """A line that is not a day (a catch-up notice)."""
        if self.mode == "text":
            self._print(text)

    def finished(self, summary: DaySummary) -> None:
        self.done += 1
        if self.mode == "text":
            for line in day_lines(summary, self.done, self.total, self.verbose):
                self._print(line)
        if self.progress is not None:
            self.progress.advance(self.task)

    def close(self, summaries: list[DaySummary], outputs: Outputs, exit_code: int) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.mode == "json":
            print(as_json(summaries, outputs, exit_code), file=self.stream, flush=True)
            return
        if self.mode == "text":
            for line in rollup_lines(summaries, outputs):
                self._print(line)
        print(verdict(summaries), file=self.stream, flush=True)

    def _print(self, line: str) -> None:
        if self.progress is not None:
            self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=self.stream, flush=True)
