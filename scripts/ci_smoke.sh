#!/usr/bin/env bash
# CI smoke test of the path users put in their own CI:
#   dagster asset materialize -m prodq_dagster.definitions --select '*' --partition D
# against generated data in a temporary folder, then a check of the outputs.
set -euo pipefail
DAY=${DAY:-2025-12-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export DAGSTER_HOME="$WORK/dagster_home"
mkdir -p "$DAGSTER_HOME"
printf 'telemetry:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
export PRODQ_RAW_DIR="$WORK/raw" PRODQ_OUT_DIR="$WORK/out" PRODQ_REPORTS_DIR="$WORK/reports"

python scripts/generate_data.py --out_dir "$PRODQ_RAW_DIR" --start "$DAY" --end "$DAY" \
    --customers 300 --events 3000 --orders 400 > /dev/null
dagster asset materialize -m prodq_dagster.definitions --select '*' --partition "$DAY" > "$WORK/materialize.log" 2>&1 \
    || { tail -50 "$WORK/materialize.log"; echo "ci-smoke: dagster asset materialize failed"; exit 1; }
python - "$DAY" <<'PY'
import json, os, sys
from pathlib import Path
import pyarrow.parquet as pq

day = sys.argv[1]
out, reports = Path(os.environ["PRODQ_OUT_DIR"]), Path(os.environ["PRODQ_REPORTS_DIR"])
manifest = json.loads((Path(os.environ["PRODQ_RAW_DIR"]) / "manifest.json").read_text())["days"][day]["expected"]
report = json.loads((reports / f"ingest_date={day}" / "validation_report.json").read_text())
for entity in ("customers", "events", "orders"):
    clean = pq.read_table(out / "clean" / entity / f"ingest_date={day}" / "part-0.parquet").num_rows
    quarantine = pq.read_table(out / "quarantine" / entity / f"ingest_date={day}" / "part-0.parquet").num_rows
    section = report[entity]
    assert (clean, quarantine) == (section["clean"], section["quarantine"]), entity
    assert section["total"] == clean + quarantine + section["dropped_duplicates"], entity
    assert (clean, quarantine) == (manifest[entity]["clean"], manifest[entity]["quarantine"]), (entity, clean, quarantine, manifest[entity])
assert pq.read_table(out / "metrics" / "hourly_events" / f"ingest_date={day}" / "part-0.parquet").num_rows == 24
assert (reports / f"ingest_date={day}" / "alerts.json").exists()
print(f"ci-smoke: dagster asset materialize --partition {day}: outputs verified against the generator manifest")
PY
