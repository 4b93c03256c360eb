"""Command line: ``prodq`` (also ``python -m prodq_dagster``).

    prodq run --data-dir data/raw --out-dir data --date 2025-12-10
    prodq --data-dir data/raw --out-dir data --start 2025-12-01 --end 2025-12-07   (run is the default)
    prodq report --out-dir data [--date D | --start D1 --end D2]   (rebuild the HTML reports)
    prodq generate --out_dir data/raw --start 2025-12-01 --end 2025-12-07          (sample data)

``run``: each day is one run of the ``prodq_daily`` job on the Dagster instance in
``$DAGSTER_HOME`` (default: ``.dagster_home`` in the project), so CLI runs show up in the
UI. Exit codes: 0 success, 1 a run failed, 2 bad arguments (one line on stderr), 3 an
alert at or above the ``--fail-on`` severity fired.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .console import FAILED, MISSING, NOT_RUN, DaySummary, Outputs, Reporter
from .core.alerts import FAIL_ON_LEVELS

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_ALERTS = 0, 1, 2, 3
COMMANDS = ("run", "report", "generate")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """A problem with the command line the user has to fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints the whole usage)
        raise UsageError(message)


def _paths(parser: argparse.ArgumentParser, data_dir: bool = True) -> None:
    if data_dir:
        parser.add_argument("--data-dir", "--data_dir", dest="data_dir", required=True,
                            help="raw root holding ingest_date=YYYY-MM-DD/ folders (a folder or an s3:// URL)")  # fmt: skip
    parser.add_argument("--out-dir", "--out_dir", dest="out_dir", required=True,
                        help="root of clean/, quarantine/, master/, metrics/ (a folder or an s3:// URL)")  # fmt: skip
    parser.add_argument("--reports-dir", "--reports_dir", dest="reports_dir",
                        help="root of the reports (default: 'reports' beside a local out-dir; required with a URL)")  # fmt: skip


def _days(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", help="one day, YYYY-MM-DD")
    parser.add_argument("--start", help="first day of an inclusive range")
    parser.add_argument("--end", help="last day of an inclusive range")


def build_parser() -> argparse.ArgumentParser:
    """The ``run`` command (also what ``prodq`` without a command runs)."""
    parser = _Parser(prog="prodq run", description="Run the prodq asset graph for a day or a date range through Dagster.")
    _paths(parser)
    _days(parser)
    parser.add_argument(
        "--fail-on", "--fail_on",
        dest="fail_on",
        choices=FAIL_ON_LEVELS,
        default=os.environ.get("PRODQ_FAIL_ON") or "none",
        help="exit 3 when an alert of this severity or higher fired (default: PRODQ_FAIL_ON, else none)",
    )  # fmt: skip
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--quiet", action="store_true", help="print the verdict line only")
    output.add_argument("--json", action="store_true", help="print one JSON document (days, totals, verdict) and nothing else")
    parser.add_argument("--verbose", action="store_true", help="show Dagster's step logs and the skipped alerts")
    return parser


def build_report_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="prodq report", description="Rebuild the HTML reports (day pages and index) from existing outputs.")
    _paths(parser, data_dir=False)
    _days(parser)
    return parser


def _parse_day(text: str, flag: str) -> date:
    from .core.contract import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date (expected YYYY-MM-DD)") from None


def resolve_days(args: argparse.Namespace, today: date) -> list[date]:
    """The requested days (``--date`` or ``--start``/``--end``), none in the future."""
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
    if last > today:
        raise UsageError(f"{last} is in the future (today is {today} UTC)")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _check_writable(location: str, flag: str) -> None:
    """A local folder exists and is writable, or can be created; nothing is created here, so a
    later bad argument still leaves nothing behind. An object-store URL is checked by its first write."""
    from .core.storage import is_url

    if is_url(location):
        return
    path = Path(location)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{flag} {path} is not a folder ({probe} is a file)")
    try:  # os.access says yes for root everywhere; a folder made and removed at once is the real test
        os.rmdir(tempfile.mkdtemp(prefix=".prodq-probe-", dir=probe))
    except OSError as exc:
        raise UsageError(f"{flag} {path} is not writable ({probe}: {exc.strerror or exc})") from None


def _inside(location: str, root: str) -> bool:
    """``location`` is ``root`` or under it (local paths resolved, URLs compared as text)."""
    from .core.storage import is_url

    if is_url(location) or is_url(root):
        return location.rstrip("/") == root.rstrip("/") or location.startswith(root.rstrip("/") + "/")
    here, there = Path(location).resolve(), Path(root).resolve()
    return here == there or there in here.parents


def prepare(args: argparse.Namespace, today: date) -> tuple[list[date], list[date]]:
    """Validate the arguments; returns (days with a raw folder, days without)."""
    from .core.reader import day_folder
    from .core.storage import StorageError, is_url, open_store

    days = resolve_days(args, today)
    if is_url(args.out_dir) and not args.reports_dir:
        raise UsageError("--reports-dir is required when --out-dir is a URL")
    try:
        raw = open_store(args.data_dir)
        if not raw.is_dir():
            raise UsageError(f"--data-dir {args.data_dir} does not exist or is not a directory")
        folders = {e.name for e in raw.listdir() if e.is_dir}
    except StorageError as exc:
        raise UsageError(f"--data-dir: {exc}") from None
    present = [d for d in days if day_folder(d) in folders]
    if not present:
        raise UsageError(f"no ingest_date=YYYY-MM-DD folder under {args.data_dir} for {days[0]}..{days[-1]}")
    if args.fail_on not in FAIL_ON_LEVELS:
        raise UsageError(f"--fail-on / PRODQ_FAIL_ON {args.fail_on!r} must be one of {', '.join(FAIL_ON_LEVELS)}")
    for flag, location in (("--out-dir", args.out_dir), ("--reports-dir", reports_dir(args))):
        if _inside(location, args.data_dir):
            raise UsageError(f"{flag} {location} is inside --data-dir {args.data_dir}: outputs would mix with the raw feeds")
    _check_writable(args.out_dir, "--out-dir")
    _check_writable(reports_dir(args), "--reports-dir")
    for flag, location in (("--out-dir", args.out_dir), ("--reports-dir", reports_dir(args))):
        try:
            open_store(location)
        except StorageError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    return present, [d for d in days if d not in present]


def customers_to_catch_up(args: argparse.Namespace, first_day: date) -> list[date]:
    """Earlier raw customers days that were never processed into ``--out_dir``.

    The customer master of a day holds every customer clean on or before it; without these
    days their customers would be missing, and their events and orders counted as orphans.
    """
    from .core.arrivals import master_history_gaps
    from .resources import ProdqStorage
    from .settings import ProdqSettings

    storage = ProdqStorage(settings=ProdqSettings(raw_dir=_absolute(args.data_dir), out_dir=_absolute(args.out_dir)))
    return master_history_gaps(storage.raw, storage.written_days("clean_customers"), first_day)


def reports_dir(args: argparse.Namespace) -> str:
    return args.reports_dir or str(Path(args.out_dir).resolve().parent / "reports")


def _absolute(location: str) -> str:
    from .core.storage import is_url

    return location if is_url(location) else str(Path(location).resolve())


def configure_environment(args: argparse.Namespace, first_day: date) -> None:
    """Point the code location at the CLI's paths and widen the partitions start if needed."""
    from .settings import ProdqSettings

    os.environ["PRODQ_RAW_DIR"] = _absolute(args.data_dir)
    os.environ["PRODQ_OUT_DIR"] = _absolute(args.out_dir)
    os.environ["PRODQ_REPORTS_DIR"] = _absolute(reports_dir(args))
    # The CLI gates on alerts itself (--fail-on) after every day ran; its runs never fail on one.
    os.environ["PRODQ_FAIL_ON"] = "none"
    from .core.vocab import VocabularyError, load_vocabularies

    try:
        settings = ProdqSettings.from_env()
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
    from .core.storage import is_url

    if is_url(args.out_dir):  # an object-store root keeps its partition locks in a local folder
        _check_writable(settings.local_lock_dir(), "PRODQ_LOCK_DIR")


CUSTOMERS_ONLY = ("clean_customers", "quarantine_customers", "load_stats_customers")


def run_day(job, instance, storage, day: date, verbose: bool, selection: tuple[str, ...] | None = None) -> tuple[bool, list[str]]:
    """Materialize the whole chain (or the ``selection``) for one partition; returns (success, failure messages)."""
    import dagster as dg

    # The CLI prints its own summary of each day (alerts and failures included); Dagster's
    # console lines would repeat them with run ids and stack traces, so only --verbose shows them.
    level = "DEBUG" if verbose else "CRITICAL"
    # Two CLIs on one day never interleave their writes (runs launched by the instance are
    # kept apart by the run queue's per-partition limit instead).
    with storage.partition_lock(day):
        result = job.execute_in_process(
            partition_key=day.isoformat(),
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": level}}}},
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


def summarize_day(storage, day: date, seconds: float) -> DaySummary:
    from .reporting import ALERTS_FILE, REPORT_FILE

    return DaySummary.from_documents(day, seconds, storage.read_report(day, REPORT_FILE), storage.read_report(day, ALERTS_FILE))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and argv[0] in COMMANDS else "run"
    rest = argv[1:] if argv and argv[0] in COMMANDS else argv
    if command == "generate":
        from .generate import main as generate_main

        return generate_main(rest)
    try:
        if command == "report":
            return report_command(build_report_parser().parse_args(rest))
        return run_command(build_parser().parse_args(rest))
    except UsageError as exc:
        print(f"prodq: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def run_command(args: argparse.Namespace) -> int:
    today = datetime.now(timezone.utc).date()
    days, missing = prepare(args, today)
    catch_up = customers_to_catch_up(args, days[0])
    configure_environment(args, min([days[0], *catch_up]))

    import dagster as dg

    from .definitions import build_definitions
    from .jobs import DAILY_JOB_NAME
    from .reporting import index_location
    from .resources import ProdqStorage
    from .settings import ProdqSettings

    storage = ProdqStorage(settings=ProdqSettings.from_env())
    job = build_definitions().resolve_job_def(DAILY_JOB_NAME)
    requested = sorted([*days, *missing])
    reporter = Reporter(len(requested), "json" if args.json else "quiet" if args.quiet else "text", args.verbose)
    summaries: list[DaySummary] = []

    def finish(code: int) -> int:
        reporter.close(summaries, Outputs(storage.out.display(), storage.reports.display(), index_location(storage)), code)
        return code

    # Two CLIs starting on a fresh DAGSTER_HOME would race to create the SQLite schema.
    with open(Path(os.environ["DAGSTER_HOME"]) / ".prodq-init.lock", "w") as init_lock:
        fcntl.flock(init_lock, fcntl.LOCK_EX)
        instance = dg.DagsterInstance.get()
        fcntl.flock(init_lock, fcntl.LOCK_UN)
    with instance:
        if catch_up:
            reporter.note(
                f"catching up the customer master: customers of {len(catch_up)} earlier day(s) were never processed "
                f"({catch_up[0]}..{catch_up[-1]}); running their customers first"
            )
            for day in catch_up:
                ok, errors = run_day(job, instance, storage, day, args.verbose, selection=CUSTOMERS_ONLY)
                if not ok:
                    for error in errors:
                        print(f"prodq: {day} customers catch-up failed: {error}", file=sys.stderr, flush=True)
                    reason = f"the customers of {day} could not be processed (the master would lack them)"
                    for requested_day in requested:
                        summaries.append(DaySummary(requested_day, NOT_RUN, errors=[reason]))
                        reporter.finished(summaries[-1])
                    return finish(EXIT_RUN_FAILED)
        # Day after day, in the order a backfill runs them: a day's customer master and alert
        # baselines read the days before it. Once a day fails, the later days are not run.
        for day in requested:
            if day in missing:
                summary = DaySummary(day, MISSING)
            elif any(s.status in (FAILED, NOT_RUN) for s in summaries):
                summary = DaySummary(day, NOT_RUN, errors=["an earlier day of the range failed (look-backs would be wrong)"])
            else:
                reporter.starting(day)
                started = time.monotonic()
                ok, errors = run_day(job, instance, storage, day, args.verbose)
                seconds = time.monotonic() - started
                if ok:
                    summary = summarize_day(storage, day, seconds)
                else:
                    summary = DaySummary(day, FAILED, seconds, errors=errors)
                    for error in errors:
                        print(f"prodq: {day}: {error}", file=sys.stderr, flush=True)
            summaries.append(summary)
            reporter.finished(summary)
    if any(s.status in (FAILED, NOT_RUN) for s in summaries):
        return finish(EXIT_RUN_FAILED)
    gated = alerts_at_or_above(storage, [s.day for s in summaries if s.status != MISSING], args.fail_on)
    if gated:
        print(f"prodq: --fail-on {args.fail_on}: alerts at or above {args.fail_on} on {', '.join(str(d) for d in gated)}", file=sys.stderr)
        return finish(EXIT_ALERTS)
    return finish(EXIT_OK)


def report_command(args: argparse.Namespace) -> int:
    """Rebuild the HTML pages of the requested days (default: every day with a report) and the index."""
    from .core.storage import StorageError, is_url, open_store
    from .reporting import report_days, write_day_html, write_index_html
    from .resources import MissingPartitionError, ProdqStorage
    from .settings import ProdqSettings

    if is_url(args.out_dir) and not args.reports_dir:
        raise UsageError("--reports-dir is required when --out-dir is a URL")
    try:
        open_store(args.out_dir)
        settings = ProdqSettings(out_dir=_absolute(args.out_dir), reports_dir=_absolute(reports_dir(args)))
        storage = ProdqStorage(settings=settings)
        available = report_days(storage)
    except StorageError as exc:
        raise UsageError(str(exc)) from None
    if args.date or args.start or args.end:
        days = [d for d in resolve_days(args, datetime.now(timezone.utc).date()) if d in available]
    else:
        days = available
    if not days:
        raise UsageError(f"no validation_report.json under {storage.reports.display()} for the requested days")
    code = EXIT_OK
    for day in days:
        try:
            print(write_day_html(storage, day), flush=True)
        except (MissingPartitionError, StorageError) as exc:
            print(f"prodq: {day}: no HTML report: {exc}", file=sys.stderr, flush=True)
            code = EXIT_RUN_FAILED
    print(write_index_html(storage), flush=True)
    return code


def alerts_at_or_above(storage, days: list[date], level: str) -> list[date]:
    """The days whose alerts include one of severity ``level`` or higher (none for ``none``)."""
    from .reporting import ALERTS_FILE
    from .core.alerts import SEVERITY_RANK, worst_severity

    if level == "none":
        return []
    gated = []
    for day in days:
        document = storage.read_report(day, ALERTS_FILE)
        worst = worst_severity(document)
        if worst is not None and SEVERITY_RANK[worst] >= SEVERITY_RANK[level]:
            gated.append(day)
    return gated
