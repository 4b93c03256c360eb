"""Command line: run the prodq asset graph for a day or a date range through Dagster.

    python -m prodq_dagster --data_dir data/raw --out_dir data --date 2025-12-10
    python -m prodq_dagster --data_dir data/raw --out_dir data --start 2025-12-01 --end 2025-12-07

Each day is one run of the ``prodq_daily`` job on the Dagster instance in
``$DAGSTER_HOME`` (default: ``.dagster_home`` in the project), so CLI runs show up
in the UI. Exit codes: 0 success, 1 a run failed, 2 bad arguments (one line on stderr),
3 an alert at or above the ``--fail-on`` severity fired.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import json
import os
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_ALERTS = 0, 1, 2, 3
FAIL_ON_LEVELS = ("none", "warning", "critical")
NOT_RUN = "not run: an earlier day of the range failed (look-backs would be wrong)"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """A problem with the command line the user has to fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints the whole usage)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m prodq_dagster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", required=True, help="raw root holding ingest_date=YYYY-MM-DD/ folders")
    parser.add_argument("--out_dir", required=True, help="root of clean/, quarantine/, metrics/")
    parser.add_argument("--reports_dir", help="root of the JSON reports (default: 'reports' beside out_dir)")
    parser.add_argument("--date", help="one day, YYYY-MM-DD")
    parser.add_argument("--start", help="first day of an inclusive range")
    parser.add_argument("--end", help="last day of an inclusive range")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="days of a range processed in parallel processes (default: number of cores)",
    )
    parser.add_argument(
        "--fail-on",
        dest="fail_on",
        choices=FAIL_ON_LEVELS,
        default=os.environ.get("PRODQ_FAIL_ON") or "none",
        help="exit 3 when an alert of this severity or higher fired (default: PRODQ_FAIL_ON, else none)",
    )
    parser.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    return parser


def _parse_day(text: str, flag: str) -> date:
    from .core.contract import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date (expected YYYY-MM-DD)") from None


def resolve_days(args: argparse.Namespace, today: date) -> list[date]:
    if args.date and (args.start or args.end):
        raise UsageError("give either --date or --start/--end, not both")
    if args.date:
        first = last = _parse_day(args.date, "--date")
    elif args.start and args.end:
        first, last = _parse_day(args.start, "--start"), _parse_day(args.end, "--end")
    else:
        raise UsageError("give --date D, or --start D1 --end D2")
    if first > last:
        raise UsageError(f"--start {first} is after --end {last}")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {args.workers})")
    if last > today:
        raise UsageError(f"{last} is in the future (today is {today} UTC)")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _check_writable(path: Path, flag: str) -> None:
    """The folder exists and is writable, or can be created; nothing is created here, so a
    later bad argument still leaves nothing behind."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{flag} {path} is not a folder ({probe} is a file)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path} is not writable ({probe} is not writable)")


def prepare(args: argparse.Namespace, today: date) -> tuple[list[date], list[date]]:
    """Validate the arguments; returns (days with a raw folder, days without)."""
    days = resolve_days(args, today)
    raw = Path(args.data_dir)
    if not raw.is_dir():
        raise UsageError(f"--data_dir {raw} does not exist or is not a directory")
    present = [d for d in days if (raw / f"ingest_date={d.isoformat()}").is_dir()]
    if not present:
        raise UsageError(f"no ingest_date=YYYY-MM-DD folder under {raw} for {days[0]}..{days[-1]}")
    if args.fail_on not in FAIL_ON_LEVELS:
        raise UsageError(f"--fail-on / PRODQ_FAIL_ON {args.fail_on!r} must be one of {', '.join(FAIL_ON_LEVELS)}")
    _check_writable(Path(args.out_dir), "--out_dir")
    _check_writable(Path(reports_dir(args)), "--reports_dir")
    return present, [d for d in days if d not in present]


def customers_to_catch_up(args: argparse.Namespace, first_day: date) -> list[date]:
    """Earlier raw customers days that were never processed into ``--out_dir``.

    The customer master of a day holds every customer clean on or before it; without these
    days their customers would be missing, and their events and orders counted as orphans.
    """
    from .core import storage
    from .core.arrivals import master_history_gaps

    return master_history_gaps(args.data_dir, storage.written_days(args.out_dir, "clean_customers"), first_day)


def reports_dir(args: argparse.Namespace) -> str:
    return args.reports_dir or str(Path(args.out_dir).resolve().parent / "reports")


def configure_environment(args: argparse.Namespace, first_day: date) -> None:
    """Point the code location at the CLI's paths and widen the partitions start if needed."""
    from .core.config import Settings

    os.environ["PRODQ_RAW_DIR"] = str(Path(args.data_dir).resolve())
    os.environ["PRODQ_OUT_DIR"] = str(Path(args.out_dir).resolve())
    os.environ["PRODQ_REPORTS_DIR"] = str(Path(reports_dir(args)).resolve())
    # The CLI gates on alerts itself (--fail-on) after every day ran; its runs never fail on one.
    os.environ["PRODQ_FAIL_ON"] = "none"
    from .core.vocab import VocabularyError, load_vocabularies

    try:
        settings = Settings.from_env()
        load_vocabularies(settings.vocab_dir or None)
    except (ValueError, VocabularyError) as exc:
        raise UsageError(str(exc)) from None
    configured = date.fromisoformat(settings.partitions_start)
    if first_day < configured:
        os.environ["PRODQ_PARTITIONS_START"] = first_day.isoformat()
    home = Path(os.environ.get("DAGSTER_HOME") or (PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()) / ".dagster_home")
    try:
        home.mkdir(parents=True, exist_ok=True)
        config = home / "dagster.yaml"
        if not config.exists():
            config.write_text("telemetry:\n  enabled: false\n")
    except OSError as exc:
        raise UsageError(f"DAGSTER_HOME {home} cannot be created: {exc.strerror or exc}") from None
    os.environ["DAGSTER_HOME"] = str(home.resolve())


@contextlib.contextmanager
def partition_lock(out_dir: str, day: date):
    """Serialize runs of one partition across processes (the run queue does not cover CLI runs)."""
    lock_dir = Path(out_dir) / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"ingest_date={day.isoformat()}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


CUSTOMERS_ONLY = ("clean_customers", "quarantine_customers")


def run_day(
    job,
    instance,
    day: date,
    verbose: bool,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
    selection: tuple[str, ...] | None = None,
) -> tuple[bool, list[str]]:
    """Materialize the whole chain (or the ``selection``) for one partition; returns (success, failure messages)."""
    import dagster as dg

    # The CLI prints its own summary of each day (alerts and failures included); Dagster's
    # console lines would repeat them with run ids and stack traces, so only --verbose shows them.
    level = "DEBUG" if verbose else "CRITICAL"
    with partition_lock(os.environ["PRODQ_OUT_DIR"], day):
        result = job.execute_in_process(
            partition_key=day.isoformat(),
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": level}}}},
            run_id=run_id,
            tags=tags,
            asset_selection=[dg.AssetKey(key) for key in selection] if selection else None,
        )
    errors = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            errors.append(f"{event.step_key}: {failure_message(event.event_specific_data.error)}")
    return result.success, errors


def failure_message(error) -> str:
    """One line for a step failure: the innermost cause (what went wrong, not where Dagster caught it)."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    line = error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name or "unknown error"
    name, sep, rest = line.partition(": ")
    if sep and " " not in name:  # "package.module.SomeError: text" -> "SomeError: text"
        short = name.rsplit(".", 1)[-1]
        line = rest if short == "Failure" else f"{short}: {rest}"  # a Failure's description says it all
    return line


def resume_gc() -> None:
    """Turn the collector back on if ``__main__`` turned it off for start-up, with every
    start-up object frozen out of later collections (they live until the process exits)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


_WORKER_STATE: dict = {}


def _worker_init(verbose: bool) -> None:
    import dagster as dg

    from .definitions import build_definitions
    from .jobs import DAILY_JOB_NAME

    _WORKER_STATE["job"] = build_definitions().resolve_job_def(DAILY_JOB_NAME)
    _WORKER_STATE["instance"] = dg.DagsterInstance.get()
    _WORKER_STATE["verbose"] = verbose


def _worker_run(day: date, run_id: str, tags: dict[str, str]) -> tuple[bool, list[str]]:
    return run_day(_WORKER_STATE["job"], _WORKER_STATE["instance"], day, _WORKER_STATE["verbose"], run_id, tags)


def run_range_parallel(days: list[date], workers: int, verbose: bool) -> dict[date, tuple[bool, list[str]]]:
    """Run a range as one run of the whole chain per day, ``workers`` days side by side.

    Days start in date order, each as soon as a worker is free, so every earlier day is
    finished or running. A run carries the ids of the earlier days' runs still going, and its
    two look-back assets wait for those inside the run (``range_wait``). Once a day has
    failed no later day starts; runs already going stop by themselves where they would read
    what the failed day did not produce.
    """
    import multiprocessing
    import uuid
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from .range_wait import wait_tag

    outcomes: dict[date, tuple[bool, list[str]]] = {}
    waiting = deque(days)
    running: dict = {}
    # On Linux the workers are forked: this process has imported Dagster, pandas and
    # pyarrow and runs no other thread yet, so a worker starts in milliseconds instead
    # of paying about 2.5 s of imports (spawn, the only safe choice elsewhere).
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init, initargs=(verbose,)) as pool:
        while waiting or running:
            while waiting and len(running) < workers and all(ok for ok, _ in outcomes.values()):
                day, run_id = waiting.popleft(), str(uuid.uuid4())
                tags = wait_tag(earlier_id for _, earlier_id in running.values())
                running[pool.submit(_worker_run, day, run_id, tags)] = (day, run_id)
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                day, _ = running.pop(future)
                outcomes[day] = future.result()
    return {day: outcomes.get(day, (False, [NOT_RUN])) for day in days}


def summarize_day(report_root: str, day: date) -> str:
    folder = Path(report_root) / f"ingest_date={day.isoformat()}"
    report = json.loads((folder / "validation_report.json").read_text())
    alerts = json.loads((folder / "alerts.json").read_text())
    lines = [f"{day}  run {report['run_id'][:8]}"]
    for name in ("customers", "events", "orders"):
        s = report[name]
        top = ", ".join(f"{code}={n}" for code, n in sorted(s["by_reason"].items(), key=lambda kv: -kv[1])[:3])
        feed = "" if s["feed_present"] else "  (no file)"
        lines.append(
            f"  {name:<10} in={s['total']:<9} clean={s['clean']:<9} quarantined={s['quarantine']:<8} "
            f"dropped_dupes={s['dropped_duplicates']:<6} top: {top or '-'}{feed}"
        )
    if report.get("unmatched_files"):
        lines.append(f"  unmatched files (no feed takes them): {', '.join(report['unmatched_files'])}")
    if alerts["alerts"]:
        for alert in alerts["alerts"]:
            lines.append(f"  ALERT {alert['type']} ({alert['severity']}): {alert['message']}")
    else:
        lines.append("  alerts: none")
    for skipped in alerts["skipped"]:
        lines.append(f"  skipped {skipped['type']}: {skipped['reason']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    today = datetime.now(timezone.utc).date()
    try:
        args = build_parser().parse_args(argv)
        days, missing = prepare(args, today)
        catch_up = customers_to_catch_up(args, days[0])
        configure_environment(args, min([days[0], *catch_up]))
    except UsageError as exc:
        print(f"prodq: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    import dagster as dg

    from .definitions import build_definitions
    from .jobs import DAILY_JOB_NAME

    workers = min(args.workers, len(days))
    # Create the instance's storage under a lock: two CLIs starting on a fresh DAGSTER_HOME
    # (or this CLI's worker processes) would otherwise race to create the sqlite schema.
    with open(Path(os.environ["DAGSTER_HOME"]) / ".prodq-init.lock", "w") as init_lock:
        fcntl.flock(init_lock, fcntl.LOCK_EX)
        with dg.DagsterInstance.get():
            pass
    if catch_up:
        print(
            f"catching up the customer master: customers of {len(catch_up)} earlier day(s) were never processed "
            f"({catch_up[0]}..{catch_up[-1]}); running their customers first",
            flush=True,
        )
        job = build_definitions().resolve_job_def(DAILY_JOB_NAME)
        with dg.DagsterInstance.get() as instance:
            for day in catch_up:
                ok, errors = run_day(job, instance, day, args.verbose, selection=CUSTOMERS_ONLY)
                if not ok:
                    print(f"{day}  customers catch-up FAILED", flush=True)
                    for error in errors:
                        print(f"  {day}: {error}", file=sys.stderr, flush=True)
                    for requested in days:
                        print(f"{requested}  not run: the customers of {day} could not be processed (the master would lack them)", flush=True)
                    return EXIT_RUN_FAILED
    if workers > 1:
        resume_gc()
        outcomes = run_range_parallel(days, workers, args.verbose)
    else:
        job = build_definitions().resolve_job_def(DAILY_JOB_NAME)
        outcomes = {}
        with dg.DagsterInstance.get() as instance:
            resume_gc()
            for day in days:
                if any(not ok for ok, _ in outcomes.values()):
                    outcomes[day] = (False, [NOT_RUN])
                    continue
                outcomes[day] = run_day(job, instance, day, args.verbose)
    failed = False
    for day in days:
        ok, errors = outcomes[day]
        if ok:
            print(summarize_day(os.environ["PRODQ_REPORTS_DIR"], day), flush=True)
        elif errors == [NOT_RUN]:
            failed = True
            print(f"{day}  {NOT_RUN}", flush=True)
        else:
            failed = True
            print(f"{day}  FAILED", flush=True)
            for error in errors:
                print(f"  {day}: {error}", file=sys.stderr, flush=True)
    for day in missing:
        print(f"{day}  no raw folder: skipped (missing day)")
    if failed:
        return EXIT_RUN_FAILED
    gated = alerts_at_or_above(os.environ["PRODQ_REPORTS_DIR"], [d for d in days if outcomes[d][0]], args.fail_on)
    if gated:
        print(f"--fail-on {args.fail_on}: alerts at or above {args.fail_on} on {', '.join(str(d) for d in gated)}", file=sys.stderr)
        return EXIT_ALERTS
    return EXIT_OK


def alerts_at_or_above(report_root: str, days: list[date], level: str) -> list[date]:
    """The days whose alerts include one of severity ``level`` or higher (none for ``none``)."""
    from .core.alerts import SEVERITY_RANK, worst_severity

    if level == "none":
        return []
    gated = []
    for day in days:
        document = json.loads((Path(report_root) / f"ingest_date={day.isoformat()}" / "alerts.json").read_text())
        worst = worst_severity(document)
        if worst is not None and SEVERITY_RANK[worst] >= SEVERITY_RANK[level]:
            gated.append(day)
    return gated
