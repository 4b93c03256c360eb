"""Benchmark prodq against the I/O floor, in one run, on the same generated files.

    python scripts/benchmark.py [--events N --customers C --orders O] [--json out.json]
    python scripts/benchmark.py --scaling 500000,2000000,10000000 --chart docs/scaling.png
    python scripts/benchmark.py --days 8 --events 500000
    python scripts/benchmark.py --object-store [--events N]

It generates one day of raw data into a temporary folder, then times, each in its
own process (wall time and peak RSS from ``wait4``):

* floor:      pyarrow reads every raw CSV of the day as text and writes zstd Parquet
              (the I/O no pipeline can avoid);
* cli_empty:  ``python -m prodq_dagster`` on a day folder with no files (Dagster's
              fixed start-up and per-run cost);
* cli_day:    ``python -m prodq_dagster ... --date D`` on the generated day, the whole
              chain with all checks, as a user runs it.

and prints a table with the ratios end-to-end/floor and (end-to-end - empty)/floor.
Each measurement is the median of ``--repeat`` runs (default 3; every run is listed), and
the three take turns round by round, so a drift of the machine's speed hits them alike.
``--scaling`` repeats that for several day sizes (customers 1% of the events, at most
50,000; orders 10%) and draws wall time and peak RSS against events per day.
``--days K`` times a K-day range. ``--object-store`` times the day with its outputs and
reports on the local disk and on an S3-compatible server on loopback (moto), by turns.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAY = "2025-12-10"
EMPTY_DAY = "2025-12-09"


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run a command; returns (wall seconds, peak RSS in MB) of that process tree's largest process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"benchmark: {' '.join(cmd[:4])}... exited {code}\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def floor_main(day_dir: str, out_dir: str) -> None:
    """The floor: read each CSV as text with pyarrow and write it as zstd Parquet."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(day_dir).glob("*.csv*")):
        header = pacsv.open_csv(path).schema.names
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header}))
        pq.write_table(table, Path(out_dir) / (path.name.split(".")[0] + ".parquet"), compression="zstd")


def dagster_env(home: Path) -> dict:
    """The environment of a CLI run on its own fresh Dagster instance (telemetry off)."""
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return dict(os.environ, DAGSTER_HOME=str(home))


def run_by_turns(commands: dict, repeat: int) -> dict:
    """``{name: (cmd, env)}`` -> ``{name: (median wall s, largest peak RSS MB, every wall s)}`` over ``repeat`` rounds.

    A shared machine's speed drifts from one minute to the next: one run per measurement
    can move a ratio a long way, so each one is the median of several, and the commands
    take turns round by round, so a drift hits all alike.
    """
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, (cmd, env) in commands.items():
            runs[name].append(run_measured(cmd, env))
    return {
        name: (statistics.median(w for w, _ in got), max(rss for _, rss in got), [w for w, _ in got])
        for name, got in runs.items()
    }


def measure_day(events: int, customers: int, orders: int, work: Path, repeat: int = 3) -> dict:
    py = sys.executable
    raw, out = work / "raw", work / "out"
    gen_start = time.perf_counter()
    subprocess.run(
        [py, str(REPO / "scripts" / "generate_data.py"), "--out_dir", str(raw), "--start", DAY, "--end", DAY,
         "--events", str(events), "--customers", str(customers), "--orders", str(orders)],
        check=True, stdout=subprocess.DEVNULL,
    )
    generate_s = time.perf_counter() - gen_start
    (raw / f"ingest_date={EMPTY_DAY}").mkdir(exist_ok=True)
    day_dir = raw / f"ingest_date={DAY}"
    size_mb = sum(p.stat().st_size for p in day_dir.iterdir()) / 1e6
    rows = events + customers + orders

    env = dagster_env(work / "dagster_home")
    cli = [py, "-m", "prodq_dagster", "--data_dir", str(raw), "--out_dir", str(out), "--reports_dir", str(work / "reports")]

    commands = {
        "floor": ([py, __file__, "--floor-only", str(day_dir), str(work / "floor")], None),
        "cli_empty": (cli + ["--date", EMPTY_DAY], env),
        "cli_day": (cli + ["--date", DAY], env),
    }
    results = run_by_turns(commands, repeat)
    table = {
        name: {
            "rows": rows if name != "cli_empty" else 0,
            "mb": size_mb if name != "cli_empty" else 0.0,
            "wall_s": wall,
            "peak_rss_mb": rss,
            "wall_s_runs": walls,
        }
        for name, (wall, rss, walls) in results.items()
    }
    floor = table["floor"]["wall_s"]
    return {
        "events": events, "customers": customers, "orders": orders, "generate_s": generate_s,
        "runs": table,
        "ratio_end_to_end": table["cli_day"]["wall_s"] / floor,
        "ratio_data_work": (table["cli_day"]["wall_s"] - table["cli_empty"]["wall_s"]) / floor,
    }


def print_table(result: dict) -> None:
    print(f"\nday: {result['events']:,} events, {result['customers']:,} customers, {result['orders']:,} orders "
          f"(generated in {result['generate_s']:.1f} s)")
    print(f"{'run':<10} {'rows':>12} {'MB':>8} {'wall s':>8} {'rows/s':>12} {'peak RSS MB':>12}  runs (s)")
    for name, r in result["runs"].items():
        rate = r["rows"] / r["wall_s"] if r["rows"] else 0
        runs = " ".join(f"{w:.2f}" for w in r["wall_s_runs"])
        print(f"{name:<10} {r['rows']:>12,} {r['mb']:>8.1f} {r['wall_s']:>8.2f} {rate:>12,.0f} {r['peak_rss_mb']:>12.0f}  {runs}")
    print(f"end-to-end / floor:           {result['ratio_end_to_end']:.2f}x")
    print(f"(end-to-end - empty) / floor: {result['ratio_data_work']:.2f}x")


def measure_range(days: int, events: int, work: Path, repeat: int = 3) -> dict:
    """Time a K-day range through the CLI (the days run one after another in one process)."""
    import datetime as dt

    py = sys.executable
    raw = work / "raw"
    start = dt.date.fromisoformat(DAY) - dt.timedelta(days=days - 1)
    subprocess.run(
        [py, str(REPO / "scripts" / "generate_data.py"), "--out_dir", str(raw), "--start", start.isoformat(), "--end", DAY,
         "--events", str(events), "--customers", str(max(events // 100, 100)), "--orders", str(max(events // 10, 100))],
        check=True, stdout=subprocess.DEVNULL,
    )
    cmd = [py, "-m", "prodq_dagster", "--data_dir", str(raw), "--out_dir", str(work / "out" / "data"), "--start", start.isoformat(), "--end", DAY]
    wall, rss, walls = run_by_turns({"range": (cmd, dagster_env(work / "home"))}, repeat)["range"]
    return {"days": days, "events_per_day": events, "wall_s": wall, "runs_s": walls, "peak_rss_mb": rss}


class LoopbackObjectStore:
    """An S3-compatible server (moto, a dev dependency) on 127.0.0.1 with one bucket, for --object-store."""

    def __enter__(self):
        import logging
        import socket

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        self.env = {
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_EC2_METADATA_DISABLED": "true",
        }
        import pyarrow.fs as pafs

        os.environ.update(self.env)
        pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", access_key="bench", secret_key="bench", region="us-east-1", allow_bucket_creation=True).create_dir("bench")
        return self

    def __exit__(self, *_):
        self.server.stop()


def measure_object_store(events: int, customers: int, orders: int, work: Path, repeat: int = 3) -> dict:
    """The same day with outputs and reports on the local disk and on a loopback object store."""
    py = sys.executable
    raw = work / "raw"
    subprocess.run(
        [py, str(REPO / "scripts" / "generate_data.py"), "--out_dir", str(raw), "--start", DAY, "--end", DAY,
         "--events", str(events), "--customers", str(customers), "--orders", str(orders)],
        check=True, stdout=subprocess.DEVNULL,
    )
    with LoopbackObjectStore() as store:
        env = {**dagster_env(work / "dagster_home"), **store.env}
        cli = [py, "-m", "prodq_dagster", "--data_dir", str(raw), "--date", DAY]
        commands = {
            "local": (cli + ["--out_dir", str(work / "out"), "--reports_dir", str(work / "reports")], env),
            "object_store": (cli + ["--out_dir", "s3://bench/out", "--reports_dir", "s3://bench/reports"], env),
        }
        results = run_by_turns(commands, repeat)
    local, remote = results["local"][0], results["object_store"][0]
    return {
        "events": events, "local_wall_s": local, "object_store_wall_s": remote, "overhead": remote / local - 1,
        "runs_s": {name: walls for name, (_, _, walls) in results.items()},
        "peak_rss_mb": {name: rss for name, (_, rss, _) in results.items()},
    }


def scaled_customers(events: int) -> int:
    """Customers per day for --scaling: 1% of the events, at most 50,000 (the 10M day of the targets)."""
    return min(max(events // 100, 1000), 50_000)


def draw_chart(results: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events = [r["events"] / 1e6 for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, label in (("cli_day", "prodq (CLI end to end)"), ("floor", "floor (pyarrow CSV -> Parquet)")):
        left.plot(events, [r["runs"][name]["wall_s"] for r in results], marker="o", label=label)
        right.plot(events, [r["runs"][name]["peak_rss_mb"] for r in results], marker="o", label=label)
    left.set(xlabel="events per day (millions)", ylabel="wall time (s)", title="Wall time")
    right.set(xlabel="events per day (millions)", ylabel="peak RSS (MB)", title="Peak memory")
    for axis in (left, right):
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 4 and sys.argv[1] == "--floor-only":
        floor_main(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--scaling", help="comma-separated events per day, e.g. 500000,2000000,10000000")
    parser.add_argument("--chart", default="docs/scaling.png", help="PNG written by --scaling")
    parser.add_argument("--days", type=int, help="time a range of this many days")
    parser.add_argument("--object-store", action="store_true", help="time the day with outputs on a loopback object store")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--json", help="also write the results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="prodq-bench-"))
    try:
        if args.days:
            result = measure_range(args.days, args.events, work, args.repeat)
            print(json.dumps(result, indent=2))
        elif args.object_store:
            result = measure_object_store(args.events, args.customers, args.orders, work, args.repeat)
            print(json.dumps(result, indent=2))
        elif args.scaling:
            result = []
            for n in (int(x) for x in args.scaling.split(",")):
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                result.append(measure_day(n, scaled_customers(n), max(n // 10, 1000), work, args.repeat))
                print_table(result[-1])
            draw_chart(result, args.chart)
            print(f"chart: {args.chart}")
        else:
            result = measure_day(args.events, args.customers, args.orders, work, args.repeat)
            print_table(result)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
