"""End to end with the case store, in Debian's Chromium: two app processes (`streamlit run
serve.py`, as scripts/app.sh serves it) on one real PostgreSQL, as replicas behind a proxy would be.

- answers given in the browser are all back after a reload (the URL names the client);
- two browsers on the two app processes answer the same client at once; neither answer is lost;
- a client's timeline with two assessments shows the chart and the shift.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine import KnowledgeBase, default_knowledge_base, parse_case
from engine.knowledge import Question
from scripts.app_process import free_port, start_app, stop_app, wait_until_up
from store import cases
from store.db import URL_ENV, Store
from tests.e2e.test_browser import BROWSER_ARGS, CHROMIUM, _settle, _vignette, axe_violations
from tests.store.conftest import pg_base_url, url_text
from tests.store.helpers import AS_OF, CASE, LATER
from ui.form import form_steps
from ui.state import Workspace
from ui.words import option_label

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store_url() -> Iterator[str]:
    """A schema of its own on the throwaway PostgreSQL, migrated, with a client assessed twice."""
    base = make_url(pg_base_url())
    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    with Store.open(url) as st:
        cases.create_client(st, "E2E-TL", "dr-a")
        cases.commit_assessment(st, "E2E-TL", CASE, AS_OF, "dr-a")
        cases.commit_assessment(st, "E2E-TL", CASE, LATER, "dr-a")
        cases.create_client(st, "E2E-TWO", "dr-a")
    try:
        yield url_text(url)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def servers(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two app processes on the same database; always terminated."""
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            log = tmp_path_factory.mktemp(f"app{i}") / "streamlit.log"
            with log.open("wb") as out:
                procs.append(start_app(port, env={URL_ENV: store_url}, output=out))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            if not wait_until_up(url, proc, timeout=40):
                pytest.fail("streamlit did not start")
        yield urls
    finally:
        for proc in procs:
            stop_app(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (installs Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser: Browser, url: str, heading: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
    page.goto(url)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=30000)
    _settle(page)
    return page


def _step_of(kb: KnowledgeBase, q: Question) -> tuple[int, str]:
    for index, (step, questions) in enumerate(form_steps(Workspace("client", "q_"), kb)):
        if any(x.id == q.id for x in questions):
            return index, step.label
    raise AssertionError(q.id)


def _go_to_step(page: Page, kb: KnowledgeBase, q: Question) -> None:
    index, label = _step_of(kb, q)
    page.get_by_role("radiogroup", name="Step").get_by_text(f"{index + 1}. {label}", exact=True).click()
    _settle(page)


def _answer(page: Page, kb: KnowledgeBase, q: Question, value: object) -> None:
    _go_to_step(page, kb, q)
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


def _shows(page: Page, kb: KnowledgeBase, q: Question, value: object) -> None:
    _go_to_step(page, kb, q)
    if q.kind == "integer":
        expect(page.get_by_role("spinbutton", name=q.prompt, exact=True)).to_have_value(str(value))
    elif page.get_by_role("radiogroup", name=q.prompt, exact=True).count():
        expect(page.get_by_role("radiogroup", name=q.prompt, exact=True).get_by_role(
            "radio", name=option_label(q, value), exact=True)).to_be_checked()
    else:
        expect(page.get_by_role("combobox", name=q.prompt, exact=True)).to_contain_text(
            option_label(q, value))


def _choice_answers(kb: KnowledgeBase) -> list[tuple[Question, object]]:
    v = _vignette(kb)
    case = parse_case(v.case, kb)
    return [(kb.questions[qid], value) for qid, value in case.answers.items()
            if kb.questions[qid].section != "subject"]


def test_every_answer_is_back_after_a_reload(servers: list[str], browser: Browser) -> None:
    kb = default_knowledge_base()
    page = _open(browser, f"{servers[0]}/cases_page", "Cases")
    code = page.get_by_role("textbox", name="Pseudonymous code (never a name)")
    code.fill("E2E-RELOAD")
    code.press("Enter")
    _settle(page)
    page.get_by_role("button", name="Create and open").click()
    _settle(page)
    expect(page.get_by_text("Client E2E-RELOAD created and open.")).to_be_visible()
    page.get_by_role("link", name="Assessment", exact=True).click()
    _settle(page)
    answers = _choice_answers(kb)
    for q, value in answers:
        _answer(page, kb, q, value)
    assert "case=E2E-RELOAD" in page.url
    page.reload()
    expect(page.get_by_role("heading", name="Assessment", exact=True)).to_be_visible(timeout=30000)
    _settle(page)
    expect(page.get_by_text("every answer is saved as you go", exact=False)).to_be_visible()
    for q, value in answers:
        _shows(page, kb, q, value)


def test_two_app_processes_on_one_client_lose_neither_answer(servers: list[str], browser: Browser,
                                                             store_url: str) -> None:
    kb = default_knowledge_base()
    (qa, va), (qb, vb) = _choice_answers(kb)[:2]
    a = _open(browser, f"{servers[0]}/?case=E2E-TWO", "Assessment")
    b = _open(browser, f"{servers[1]}/?case=E2E-TWO", "Assessment")
    _answer(a, kb, qa, va)   # on the first app process
    _answer(b, kb, qb, vb)   # on the second, which opened the client before that answer
    with Store.open(store_url, migrate=False) as st:
        draft = cases.load_draft(st, "E2E-TWO")
    assert draft is not None
    assert draft.answers["answers"][qa.id] == va and draft.answers["answers"][qb.id] == vb
    a.reload()
    expect(a.get_by_role("heading", name="Assessment", exact=True)).to_be_visible(timeout=30000)
    _settle(a)
    _shows(a, kb, qa, va)
    _shows(a, kb, qb, vb)


def test_the_timeline_shows_the_shift(servers: list[str], browser: Browser) -> None:
    page = _open(browser, f"{servers[1]}/timeline?case=E2E-TL", "Timeline")
    expect(page.get_by_text("Shifted from At risk of becoming a pattern to Maladaptive")).to_be_visible()
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(timeout=20000)


def test_the_pages_over_time_pass_an_axe_audit(servers: list[str], browser: Browser) -> None:
    """axe-core on Cases, Timeline and Intake meeting with a client open (issue 11's audit of
    every page): no serious or critical violation, colour contrast included."""
    found: dict[str, list[str]] = {}
    for path, heading in (("cases_page", "Cases"), ("timeline", "Timeline"),
                          ("intake", "Intake meeting")):
        page = _open(browser, f"{servers[0]}/{path}?case=E2E-TL", heading)
        found[heading] = axe_violations(page)
        page.context.close()
    assert {k: v for k, v in found.items() if v} == {}, found
