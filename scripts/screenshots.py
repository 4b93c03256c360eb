"""Regenerate the README screenshots of the HTML reports (docs/images/*.png).

    python scripts/screenshots.py [--out docs/images]

Generates ten days of sample data in a temporary folder, runs ``prodq run`` over them,
opens the last day's ``report.html`` and ``index.html`` in headless chromium (Playwright
driving the system's ``chromium``) and saves the top of each page as a small PNG
(palette-quantized with Pillow, a matplotlib dependency).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START, END = "2025-12-01", "2025-12-10"
WIDTH, HEIGHT = 1100, 1000


def browser_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise SystemExit("screenshots: no chromium browser found (apt-get install chromium)")
    return found


def run(work: Path) -> Path:
    prodq = [sys.executable, "-m", "prodq_dagster"]
    env = dict(os.environ, DAGSTER_HOME=str(work / "home"))
    (work / "home").mkdir()
    (work / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    subprocess.run([*prodq, "generate", "--out_dir", str(work / "raw"), "--start", START, "--end", END,
                    "--customers", "500", "--events", "8000", "--orders", "900", "--partial-load-every", "4",
                    "--low-volume-day", END], check=True, stdout=subprocess.DEVNULL, env=env)  # fmt: skip
    subprocess.run([*prodq, "run", "--data-dir", str(work / "raw"), "--out-dir", str(work / "data"),
                    "--reports-dir", str(work / "reports"), "--start", START, "--end", END, "--quiet"],
                   check=False, env=env)  # fmt: skip
    return work / "reports"


def shoot(reports: Path, out: Path) -> list[Path]:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    pages = {"day-report.png": reports / f"ingest_date={END}" / "report.html", "index.png": reports / "index.html"}
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path())
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        for name, html in pages.items():
            page.goto(html.as_uri())
            target = out / name
            page.screenshot(path=str(target), clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT})
            Image.open(target).convert("RGB").quantize(colors=128).save(target, optimize=True)
            written.append(target)
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "images"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prodq-shots-") as tmp:
        for path in shoot(run(Path(tmp)), out):
            print(f"{path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
