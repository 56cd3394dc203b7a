"""Cold start, as people wait for it: the CLI's report, the app's first page, a PDF report.

- cli_s: from process start to the Markdown report written, `python -m engine assess CASE
  --format markdown` (a vignette's case), in a new process each time;
- app_first_page_s: from the app's process start (`streamlit run serve.py`, as scripts/app.sh
  serves it) to its first page drawn in Chromium (/usr/bin/chromium through playwright; the
  browser is started beforehand and not counted): the page's script has finished and a heading
  is shown;
- pdf_s: `python -m engine assess CASE --format pdf -o FILE`, from process start.

Each is run `--runs` times (after one unmeasured run that fills the caches: the validated
knowledge base and the compiled evaluators on disk, the bytecode); the medians are reported,
with the CPU seconds of the CLI beside its wall time (on a loaded machine wall time also counts
other programs).

    .venv/bin/python scripts/bench_startup.py [--runs 5] [--no-app] [--no-pdf]

The last line is JSON: {"cli_s": ..., "app_first_page_s": ..., "pdf_s": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app_process import free_port, start_app, stop_app, wait_until_up  # noqa: E402  (this folder)

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _case_file(directory: Path) -> Path:
    from engine.vignettes import default_vignettes

    vignette = max(default_vignettes(), key=lambda v: (len(json.dumps(v.case)), v.id))
    path = directory / "case.json"
    path.write_text(json.dumps(vignette.case))
    return path


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of a command (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def app_first_page(browser: object) -> float:
    """Seconds from the app's process start to its first page drawn in the browser."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = start_app(port)
    try:
        if not wait_until_up(url, proc, timeout=60, poll=0.05):
            raise RuntimeError("the app did not start")
        page = browser.new_page()  # type: ignore[attr-defined]
        try:
            page.goto(url)
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                                   timeout=60000)
            page.locator("h1, h2, h3").first.wait_for(timeout=60000)
            return time.perf_counter() - start
        finally:
            page.close()
    finally:
        stop_app(proc)


def main() -> int:
    """Time the three, print each run and the medians, JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-app", action="store_true")
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args()
    runs = max(1, args.runs)
    out: dict[str, float | None] = {"cli_s": None, "app_first_page_s": None, "pdf_s": None}
    with tempfile.TemporaryDirectory() as tmp:
        case = _case_file(Path(tmp))
        cli = [sys.executable, "-m", "engine", "assess", str(case), "--format", "markdown"]
        _timed(cli)  # fills the caches
        samples = [_timed(cli) for _ in range(runs)]
        walls = [w for w, _ in samples]
        cpus = [c for _, c in samples]
        print(f"CLI report: {', '.join(f'{w:.2f}' for w in walls)} s; "
              f"median {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU")
        out["cli_s"] = round(statistics.median(walls), 3)

        if not args.no_pdf:
            pdf = [sys.executable, "-m", "engine", "assess", str(case), "--format", "pdf",
                   "-o", os.path.join(tmp, "report.pdf")]
            _timed(pdf)
            pdfs = [_timed(pdf)[0] for _ in range(max(1, runs // 2))]
            print(f"PDF report: {', '.join(f'{w:.2f}' for w in pdfs)} s; "
                  f"median {statistics.median(pdfs):.2f} s")
            out["pdf_s"] = round(statistics.median(pdfs), 3)

    if not args.no_app:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
            try:
                app_first_page(browser)  # fills the caches
                pages = [app_first_page(browser) for _ in range(max(1, runs // 2))]
            finally:
                browser.close()
        print(f"App first page: {', '.join(f'{w:.2f}' for w in pages)} s; "
              f"median {statistics.median(pages):.2f} s")
        out["app_first_page_s"] = round(statistics.median(pages), 3)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
