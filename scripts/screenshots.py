"""Screenshots of every page of the app, for docs/screenshots/ (regenerate after a UI change).

Starts `streamlit run serve.py` on a free loopback port (as scripts/app.sh serves it), drives
Debian's /usr/bin/chromium with playwright (no browser is downloaded), loads one committed
vignette into the client assessment, and saves one full-page PNG per page and view.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--vignette er_doctor]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from app_process import free_port, start_app, stop_app, wait_until_up  # this folder's own module
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import assess, default_knowledge_base, parse_case  # noqa: E402
from engine.render import render_html  # noqa: E402
from engine.vignettes import default_vignettes  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def settle(page: Page) -> None:
    page.wait_for_timeout(200)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=30000)
    page.wait_for_timeout(300)


# A client seen twice (the shift on the timeline): numb and not reconnecting after a loss,
# first a few weeks after it, then months later with the same answers.
DEMO_CODE = "C-DEMO"
DEMO_CASE = {"schema_version": 1,
             "timeline": {"onset_date": "2026-01-15", "precipitant": "bereavement", "stressor": "ended",
                          "stressor_ended_date": "2026-02-10"},
             "criteria": {"situation_specific": "no", "reconnects_when_safe": "no"},
             "findings": {"numbness": "present", "declines_comfort": "present"}}
DEMO_DATES = (date(2026, 3, 1), date(2026, 9, 1))


def demo_store(tmp: Path) -> dict[str, str]:
    """A new encrypted case store with the demo client's two assessments; its settings."""
    from store import cases
    from store.db import KEY_ENV, URL_ENV, Store
    env = {URL_ENV: f"sqlite+pysqlcipher:///{tmp / 'cases.db'}", KEY_ENV: "screenshots"}
    os.environ.update(env)
    with Store.open(env[URL_ENV]) as st:
        cases.create_client(st, DEMO_CODE, "screenshots")
        for as_of in DEMO_DATES:
            cases.commit_assessment(st, DEMO_CODE, DEMO_CASE, as_of, "screenshots")
    return env


def start(port: int, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The app on `port` with the demo store's settings, its output in `log`."""
    proc = start_app(port, env=env, output=log.open("wb"))
    if not wait_until_up(f"http://127.0.0.1:{port}", proc, timeout=60, poll=0.3):
        stop_app(proc)
        raise SystemExit("streamlit did not start")
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--vignette", default="er_doctor")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    vignette = next(v for v in default_vignettes() if v.id == args.vignette)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = start(port, Path(tmp) / "streamlit.log", demo_store(Path(tmp)))
        try:
            case_file = Path(tmp) / f"{vignette.id}.json"
            case_file.write_text(json.dumps(vignette.case), encoding="utf-8")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": 1000})

                def shot(name: str) -> None:
                    settle(page)
                    # Streamlit scrolls inside its main area: grow the window to its content instead.
                    height = page.evaluate('(document.querySelector(\'[data-testid="stMain"]\') || '
                                           'document.body).scrollHeight')
                    page.set_viewport_size({"width": args.width, "height": min(max(int(height), 900), 9000)})
                    settle(page)
                    path = args.out / f"{name}.png"
                    page.screenshot(path=str(path), full_page=True)
                    page.set_viewport_size({"width": args.width, "height": 1000})
                    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)

                page.goto(url)
                settle(page)
                shot("01-assessment-empty")
                page.goto(f"{url}/case_io")
                settle(page)
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(case_file))
                page.get_by_text(f"Loaded {case_file.name}", exact=False).wait_for(timeout=20000)
                shot("05-case-file-and-report")
                page.get_by_role("link", name="Assessment", exact=True).click()
                shot("02-assessment-loaded")
                page.get_by_role("radiogroup", name="Step").get_by_text("Review", exact=False).click()
                shot("02b-assessment-review")
                page.get_by_role("link", name="Quick triage", exact=True).click()
                shot("03-quick-triage")
                page.get_by_role("link", name="Results", exact=True).click()
                shot("04-results")
                page.get_by_role("link", name="Clinician self-check", exact=True).click()
                shot("06-self-check")
                page.get_by_role("link", name="Rule catalogue", exact=True).click()
                shot("07-rule-catalogue")
                page.get_by_role("tab", name="Inference graph").click()
                page.locator('[data-testid="stGraphVizChart"] svg').first.wait_for(timeout=30000)
                shot("08-inference-graph-overview")
                page.get_by_role("link", name="Training vignettes", exact=True).click()
                shot("09-training-vignettes")
                # The pages over time, with the demo client open (as after a reload: ?case=).
                page.goto(f"{url}/cases_page?case={DEMO_CODE}")
                shot("11-cases")
                page.get_by_role("link", name="Timeline", exact=True).click()
                page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30000)
                shot("12-timeline")
                page.get_by_role("link", name="Intake meeting", exact=True).click()
                shot("13-intake-meeting")
                # The report as the HTML download renders it (the PDF is made from the same page).
                kb = default_knowledge_base()
                report = assess(parse_case(vignette.case, kb), explain=True)
                html_file = Path(tmp) / "report.html"
                html_file.write_text(render_html(report, kb), encoding="utf-8")
                page.goto(html_file.as_uri())
                page.wait_for_timeout(300)
                path = args.out / "10-report-html.png"
                page.screenshot(path=str(path), full_page=True)
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
                browser.close()
        finally:
            stop_app(proc, timeout=15)
    print(json.dumps({"screenshots": str(args.out), "vignette": vignette.id}))


if __name__ == "__main__":
    main()
