"""The app with the case store (AppTest): autosave on every answer, the case back after a
reload (a new session with the same URL), saving an assessment, the timeline with the shift,
and the key form while the encrypted store is locked."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import KnowledgeBase
from store import cases
from store.db import KEY_ENV, URL_ENV, Store
from store.feedback import client_feedback
from tests.store.conftest import KEY, sqlcipher_url, url_text
from tests.store.helpers import AS_OF, CASE, LATER
from tests.test_app import APP, client, goto, run, set_answer, texts
from ui import persistence


@pytest.fixture
def store_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = url_text(sqlcipher_url(tmp_path / "cases.db"))
    monkeypatch.setenv(URL_ENV, url)
    monkeypatch.setattr(persistence, "_shared", {})
    return url


def fresh(code: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if code:
        at.query_params[persistence.QUERY] = code
    return run(at)


def test_every_answer_is_saved_and_back_after_a_reload(store_url: str, kb: KnowledgeBase) -> None:
    at = fresh()
    goto(at, "cases_page")
    at.text_input(key="cases_new_code").input("C-RELOAD")
    at.button(key="cases_create").click()
    run(at)
    assert at.query_params[persistence.QUERY] in ("C-RELOAD", ["C-RELOAD"])  # the URL names it
    goto(at, "assessment")
    set_answer(at, kb, "numbness", "present")
    set_answer(at, kb, "tas20_total", 58)
    answers = dict(client(at).answers)
    assert answers["numbness"] == "present" and answers["tas20_total"] == 58
    with Store.open(store_url) as st:
        draft = cases.load_draft(st, "C-RELOAD")
    assert draft is not None and draft.answers["answers"] == answers
    # A reload: a new session, the same URL; every answer is back.
    again = fresh("C-RELOAD")
    assert client(again).answers == answers
    assert client(again).case_id == "C-RELOAD"
    assert "Client **C-RELOAD**: every answer is saved as you go." in texts(again)


def test_save_as_assessment_then_the_timeline_shows_the_shift(store_url: str) -> None:
    with Store.open(store_url) as st:
        cases.create_client(st, "C-TL", "dr-a")
        cases.commit_assessment(st, "C-TL", CASE, AS_OF, "dr-a")
        cases.commit_assessment(st, "C-TL", CASE, LATER, "dr-a")
    at = fresh("C-TL")
    goto(at, "timeline")
    page = texts(at)
    assert "Shifted from At risk of becoming a pattern to Maladaptive" in page
    assert "The same answers (only the assessment date differs)." in page
    assert at.get("vega_lite_chart")  # the Altair chart of the position over time
    goto(at, "cases_page")
    at.button(key="cases_commit").click()
    run(at)
    assert any("Saved as assessment 3" in s.value for s in at.success)


def test_a_locked_store_asks_for_its_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    monkeypatch.setenv(URL_ENV, f"sqlite+pysqlcipher:///{path}")
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setattr(persistence, "_shared", {})
    at = fresh()
    assert "The case store is encrypted" in texts(at)
    assert not path.exists()
    at.sidebar.text_input[0].input(KEY)
    at.sidebar.button[0].click()
    run(at)
    assert path.exists()
    assert "No client open" in texts(at)


def test_two_sessions_of_the_app_on_one_client_lose_neither_answer(store_url: str,
                                                                     kb: KnowledgeBase) -> None:
    with Store.open(store_url) as st:
        cases.create_client(st, "C-TWO", "dr-a")
    a, b = fresh("C-TWO"), fresh("C-TWO")
    goto(a, "assessment")
    goto(b, "assessment")
    set_answer(a, kb, "numbness", "present")
    set_answer(b, kb, "tas20_total", 58)
    with Store.open(store_url) as st:
        draft = cases.load_draft(st, "C-TWO")
    assert draft is not None
    assert {"numbness": "present", "tas20_total": 58}.items() <= draft.answers["answers"].items()
    # The other session's answer comes into each form with its next change.
    set_answer(a, kb, "declines_comfort", "present")
    run(a)
    assert client(a).answers["tas20_total"] == 58
    with Store.open(store_url) as st:
        final = cases.load_draft(st, "C-TWO")
    assert final is not None and final.answers["answers"] == client(a).answers


def test_the_intake_meeting_lists_todays_clients(store_url: str) -> None:
    with Store.open(store_url) as st:
        cases.create_client(st, "C-IN-1", "dr-a")
        cases.commit_assessment(st, "C-IN-1", CASE, AS_OF, "dr-a")
        cases.create_client(st, "C-IN-2", "dr-a")
        cases.save_draft(st, "C-IN-2", {"answers": {"numbness": "present"}, "notes": "", "as_of": ""})
    at = fresh()
    goto(at, "intake")
    page = texts(at)
    assert "C-IN-1" in page and "C-IN-2" in page
    assert "At risk of becoming a pattern" in page
    assert at.get("download_button")
    at.button(key="intake_open_0").click()
    run(at)
    assert at.session_state[persistence.OPEN_KEY] in ("C-IN-1", "C-IN-2")
    assert "is open: go to" in texts(at)


def test_disagreeing_on_the_timeline_is_recorded_and_counted(store_url: str) -> None:
    with Store.open(store_url) as st:
        cases.create_client(st, "C-FB", "dr-a")
        cases.commit_assessment(st, "C-FB", CASE, AS_OF, "dr-a")
    at = fresh("C-FB")
    goto(at, "timeline")
    at.radio[0].set_value("Disagree")
    at.selectbox[1].set_value("cds-not-applicable")
    at.text_area[0].input("she reconnects at home")
    at.button[0].click()
    run(at)
    assert any(s.value == "Recorded." for s in at.success)
    with Store.open(store_url) as st:
        [fb] = client_feedback(st, "C-FB")
    assert (fb.agree, fb.conclusion, fb.reason_code) == (False, "spectrum.at_risk", "cds-not-applicable")
    assert fb.comment == "she reconnects at home"
    page = texts(at)
    assert "Agreement per rule" in page


def test_the_first_answer_with_no_client_open_creates_one_so_nothing_is_unsaved(
        store_url: str, kb: KnowledgeBase) -> None:
    at = fresh()
    set_answer(at, kb, "numbness", "present")
    code = at.query_params[persistence.QUERY]
    code = code[0] if isinstance(code, list) else code
    assert code.startswith("NEW-")
    assert not [w for w in at.sidebar.warning if "not saved" in w.value]
    with Store.open(store_url) as st:
        draft = cases.load_draft(st, code)
    assert draft is not None and draft.answers["answers"]["numbness"] == "present"
    again = fresh(code)  # a reload: the same URL
    assert client(again).answers["numbness"] == "present"
    assert client(again).case_id == code


def test_a_case_id_given_in_the_form_names_the_client_the_first_answer_creates(
        store_url: str, kb: KnowledgeBase) -> None:
    with Store.open(store_url) as st:
        cases.create_client(st, "C-TAKEN", "dr-a")
    at = fresh()
    at.text_input(key="q__case_id").input("C-FORM")
    run(at)
    set_answer(at, kb, "numbness", "present")
    assert client(at).case_id == "C-FORM"
    with Store.open(store_url) as st:
        assert cases.load_draft(st, "C-FORM") is not None
    # A code another client has is never joined: the answers get a client of their own.
    other = fresh()
    other.text_input(key="q__case_id").input("C-TAKEN")
    run(other)
    set_answer(other, kb, "numbness", "absent")
    assert client(other).case_id.startswith("NEW-")
    with Store.open(store_url) as st:
        assert cases.load_draft(st, "C-TAKEN") is None


def test_the_report_shows_the_clinicians_agreement_and_override(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10 item 4: a recorded judgement is in the open client's report, in words."""
    from engine import default_knowledge_base
    from store.feedback import record_feedback
    from ui.downloads import report_formats
    with Store.open(store_url) as st:
        cases.create_client(st, "C-FB", "dr-a")
        cases.commit_assessment(st, "C-FB", CASE, AS_OF, "dr-a")
        record_feedback(st, "C-FB", 1, "spectrum.at_risk", False, "dr-b",
                        reason_code="cds-not-applicable", comment="seen in session zebra-77")
    at = fresh("C-FB")
    goto(at, "results")
    state = {k: at.session_state[k] for k in at.session_state}  # that session's state
    monkeypatch.setattr(persistence, "session", lambda: state)
    recorded = persistence.recorded_feedback()
    assert [(f.verdict, f.by) for f in recorded] == [("overridden", "dr-b")]
    assert recorded[0].conclusion == "Position: At risk of becoming a pattern (assessment 1)"
    report = next(e.report for e in client(at)._memo.values() if e.report is not None)
    built = {ext: build() for _, ext, _, build in
             report_formats(default_knowledge_base(), report, None, lambda: recorded)}
    for ext in ("md", "html"):
        text = built[ext].decode()
        assert "Position: At risk of becoming a pattern (assessment 1)" in text
        assert "zebra-77" in text and "dr-b" in text
    monkeypatch.setattr(persistence, "session", lambda: {})  # no client open: nothing recorded
    assert persistence.recorded_feedback() == []
