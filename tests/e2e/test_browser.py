"""End to end in a real browser: Debian's chromium, driven by playwright, against `streamlit run`.

Fills one training vignette into the assessment form, checks the position the results page shows,
downloads the report, saves a screenshot; a second browser session loads another case at the same
time and each keeps its own; the page made no request outside the loopback interface, and nothing
about the case reached the server's log.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright
from pypdf import PdfReader

from engine import KnowledgeBase, default_knowledge_base, parse_case
from engine.knowledge import Position
from engine.vignettes import Vignette, default_vignettes
from scripts.app_process import free_port, start_app, stop_app, wait_until_up
from ui.form import form_steps
from ui.state import Workspace
from ui.words import option_label

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
SCREENSHOT_COPY = Path("/tmp/detachment_e2e_results.png")
CASE_ID = "E2E-7731"
NOTES = "zebra-notes-5521 (must never reach a log)"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`streamlit run serve.py` (as scripts/app.sh serves the app) on a free loopback port;
    always terminated."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with log.open("wb") as out:
        proc = start_app(port, output=out)
        try:
            url = f"http://127.0.0.1:{port}"
            if not wait_until_up(url, proc, timeout=30):
                pytest.fail("streamlit did not start:\n" + log.read_text(errors="replace")[-2000:])
            yield url, log
        finally:
            stop_app(proc)


APPENDIX = "Appendix: open questions, reasoning and rule ids"
AUDITED_IMPACTS = ("serious", "critical")


def body_pages(pdf: bytes) -> int:
    """The PDF's pages before its appendix (which starts on a new page under its heading)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return next(i for i, p in enumerate(pages) if APPENDIX in p.extract_text())


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations on the page (axe-core is bundled; nothing fetched)."""
    page.wait_for_timeout(800)  # let Streamlit's fade-in finish before colours are measured
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']}: " + "; ".join(n["html"][:120] for n in v["nodes"][:3])
            for v in results.response["violations"] if v["impact"] in AUDITED_IMPACTS]


def _vignette(kb: KnowledgeBase) -> Vignette:
    """The vignette with a position on the bar and the fewest answers (quick to fill by hand)."""
    ranked = [v for v in default_vignettes()
              if isinstance(p := kb.catalogue["spectrum"].get(v.expect.position), Position)
              and p.rank is not None]
    assert ranked, "no vignette with a ranked spectrum position"
    return min(ranked, key=lambda v: (len(parse_case(v.case, kb).answers), v.id))


def _other_vignette(kb: KnowledgeBase, v: Vignette) -> Vignette:
    """A vignette with a different position, for the second session."""
    return next(o for o in default_vignettes() if o.expect.position != v.expect.position)


def _settle(page: Page) -> None:
    """Wait until Streamlit has finished the rerun a click started."""
    page.wait_for_timeout(150)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=15000)


def _fill(page: Page, kb: KnowledgeBase, v: Vignette) -> None:
    case = parse_case(v.case, kb)
    steps = form_steps(Workspace("client", "q_"), kb)
    for index, (step, questions) in enumerate(steps):
        todo = [q for q in questions if q.id in case.answers and q.section != "subject"]
        if not todo:
            continue
        page.get_by_role("radiogroup", name="Step").get_by_text(f"{index + 1}. {step.label}",
                                                                exact=True).click()
        _settle(page)
        expect(page.get_by_role("heading", name=step.label, exact=True)).to_be_visible()
        for q in todo:
            value = case.answers[q.id]
            if q.kind == "integer":
                box = page.get_by_role("spinbutton", name=q.prompt, exact=True)
                box.fill(str(value))
                box.press("Enter")
            elif page.get_by_role("radiogroup", name=q.prompt, exact=True).count():
                page.get_by_role("radiogroup", name=q.prompt, exact=True).get_by_text(
                    option_label(q, value), exact=True).click()
            else:
                page.get_by_role("combobox", name=q.prompt, exact=True).click()
                page.get_by_role("option", name=option_label(q, value), exact=True).click()
            _settle(page)


def test_fill_vignette_results_report_and_no_external_requests(
        server: tuple[str, Path], tmp_path: Path) -> None:
    """One vignette, filled by hand in a real browser, gives the expected position and report."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (installs Debian's chromium)")
    url, log = server
    kb = default_knowledge_base()
    v = _vignette(kb)
    label = kb.catalogue["spectrum"][v.expect.position].label
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 2400}, accept_downloads=True)
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            expect(page.get_by_role("heading", name="Assessment", exact=True)).to_be_visible(timeout=20000)
            _settle(page)

            case_id = page.get_by_role("textbox", name="Case id (optional)")
            case_id.fill(CASE_ID)
            case_id.press("Enter")
            _settle(page)
            notes = page.get_by_role("textbox", name="Notes (optional; never read by the rules)")
            notes.fill(NOTES)
            notes.press("Control+Enter")
            _settle(page)

            # Keyboard: the step navigator moves with the arrow keys, like any radio group.
            steps = form_steps(Workspace("client", "q_"), kb)
            page.get_by_role("radio", name=f"1. {steps[0][0].label}", exact=True).focus()
            page.keyboard.press("ArrowRight")
            _settle(page)
            expect(page.get_by_role("heading", name=steps[1][0].label, exact=True)).to_be_visible()
            page.keyboard.press("ArrowLeft")
            _settle(page)
            expect(page.get_by_role("heading", name=steps[0][0].label, exact=True)).to_be_visible()

            _fill(page, kb, v)
            expect(page.get_by_text(f"Provisional position: {label}.")).to_be_visible()

            page.get_by_role("link", name="Results", exact=True).click()
            _settle(page)
            expect(page.get_by_role("heading", name=f"Spectrum position: {label}")).to_be_visible()
            expect(page.get_by_text(f"▲ This case: {label}", exact=True)).to_be_visible()
            expect(page.get_by_text(f"Case {CASE_ID}.", exact=False)).to_be_visible()

            shot = tmp_path / "results.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            shutil.copyfile(shot, SCREENSHOT_COPY)

            with page.expect_download() as info:
                page.get_by_role("button", name="Download the report (Markdown)").click()
            report = tmp_path / "report.md"
            info.value.save_as(report)
            text = report.read_text(encoding="utf-8")
            assert f"Spectrum position: {label}" in text
            assert CASE_ID in text

            # The PDF, from the same page: served from memory, its main body on at most two A4 pages.
            with page.expect_download() as info:
                page.get_by_role("button", name="Download the report (PDF)").click()
            pdf = tmp_path / "report.pdf"
            info.value.save_as(pdf)
            assert 1 <= body_pages(pdf.read_bytes()) <= 2

            # A second session on the same server loads another case at the same time; each
            # session keeps its own.
            other = _other_vignette(kb, v)
            other_label = kb.catalogue["spectrum"][other.expect.position].label
            second = context_b = browser.new_context(viewport={"width": 1400, "height": 1400})
            page_b = second.new_page()
            page_b.on("request", lambda r: requests.append(r.url))
            page_b.goto(f"{url}/case_io")
            expect(page_b.get_by_role("heading", name="Case file and report", exact=True)).to_be_visible(
                timeout=20000)
            case_file = tmp_path / f"{other.id}.json"
            case_file.write_text(json.dumps(other.case), encoding="utf-8")
            page_b.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(case_file))
            expect(page_b.get_by_text(f"Loaded {other.id}.json", exact=False)).to_be_visible(timeout=15000)
            page_b.get_by_role("link", name="Results", exact=True).click()
            _settle(page_b)
            expect(page_b.get_by_role("heading", name=f"Spectrum position: {other_label}")).to_be_visible()
            page.get_by_role("link", name="Assessment", exact=True).click()
            _settle(page)
            page.get_by_role("link", name="Results", exact=True).click()
            _settle(page)
            expect(page.get_by_role("heading", name=f"Spectrum position: {label}")).to_be_visible()
            expect(page.get_by_text(f"Case {CASE_ID}.", exact=False)).to_be_visible()
            context_b.close()

            # The inference graph is drawn in the browser: it too must fetch nothing outside.
            page.get_by_role("link", name="Rule catalogue", exact=True).click()
            _settle(page)
            page.get_by_role("tab", name="Inference graph").click()
            expect(page.locator('[data-testid="stGraphVizChart"] svg').first).to_be_visible(timeout=20000)
            page.wait_for_timeout(500)
        finally:
            browser.close()

    assert requests, "no request was recorded"
    outside = []
    for r in requests:
        parsed = urlparse(r)
        if parsed.scheme in ("data", "blob"):
            continue
        if parsed.hostname not in LOOPBACK:
            outside.append(r)
    assert not outside, f"requests outside loopback: {outside[:10]}"
    server_log = log.read_text(errors="replace")
    assert CASE_ID not in server_log and "zebra-notes-5521" not in server_log, "case content in the log"


AUDITED_PAGES = ("Case file and report", "Assessment", "Quick triage", "Results", "Clinician self-check",
                 "Rule catalogue", "Training vignettes")


def test_every_page_passes_an_axe_audit(server: tuple[str, Path], tmp_path: Path) -> None:
    """axe-core on every page, a case loaded: no serious or critical violation (colour contrast
    included); the assessment's review step and the inference graph too. Next opens the next step at
    its top with focus on its heading."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (installs Debian's chromium)")
    url, _ = server
    kb = default_knowledge_base()
    v = next(x for x in default_vignettes() if x.id == "complex_trauma")
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(v.case), encoding="utf-8")
    found: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/case_io")
            expect(page.get_by_role("heading", name="Case file and report", exact=True)).to_be_visible(
                timeout=20000)
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(case_file))
            expect(page.get_by_text("Loaded case.json", exact=False)).to_be_visible(timeout=15000)
            for name in AUDITED_PAGES:
                if name != "Case file and report":
                    page.get_by_role("link", name=name, exact=True).click()
                _settle(page)
                found[name] = axe_violations(page)

            # Next from the bottom of a long step: the next step opens at its top, focus on its heading.
            page.get_by_role("link", name="Assessment", exact=True).click()
            _settle(page)
            steps = form_steps(Workspace("client", "q_"), kb)
            page.get_by_role("button", name="Next").scroll_into_view_if_needed()
            page.get_by_role("button", name="Next").click()
            _settle(page)
            heading = page.get_by_role("heading", name=steps[1][0].label, exact=True)
            expect(heading).to_be_focused(timeout=5000)
            assert page.evaluate('document.querySelector(\'[data-testid="stMain"]\').scrollTop') < 50

            # The review step: every answer is a link back to its step.
            page.get_by_role("radiogroup", name="Step").get_by_text(
                f"{len(steps) + 1}. Review", exact=True).click()
            _settle(page)
            found["Assessment: review"] = axe_violations(page)
            page.get_by_role("button", name=kb.questions["precipitant"].prompt, exact=False).first.click()
            _settle(page)
            timeline = page.get_by_role("heading", name=steps[1][0].label, exact=True)
            expect(timeline).to_be_focused(timeout=5000)

            page.get_by_role("link", name="Rule catalogue", exact=True).click()
            _settle(page)
            page.get_by_role("tab", name="Inference graph").click()
            expect(page.locator('[data-testid="stGraphVizChart"] svg').first).to_be_visible(timeout=20000)
            found["Rule catalogue: inference graph"] = axe_violations(page)
        finally:
            browser.close()
    assert {k: v for k, v in found.items() if v} == {}, found
