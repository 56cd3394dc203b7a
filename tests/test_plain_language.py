"""No engine word on any page (issue 11): every page's rendered text, through AppTest, is scanned
for rule ids, 'kind.id' references, snake_case ids, answer codes and engine terms.

Results and triage are scanned for every committed vignette (their text depends on the case);
the other pages once per step or tab. The "show rule ids" view is the one place ids may appear.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from engine import KnowledgeBase
from engine.vignettes import default_vignettes
from tests.plain_check import engine_tokens
from tests.test_app import APP, goto, run, texts, upload
from ui.form import form_steps
from ui.state import Workspace

VIGNETTES = default_vignettes()


@pytest.fixture(scope="module")
def session() -> AppTest:
    """One app session for the module (pages are revisited with each vignette loaded)."""
    return run(AppTest.from_file(APP, default_timeout=60))


# The page's own scripts and styles (ui/a11y.py) are code, not text anyone reads.
CODE = re.compile(r"<(script|style)\b.*?</\1>", re.DOTALL)


def scan(at: AppTest, kb: KnowledgeBase, where: str) -> None:
    found = engine_tokens(kb, CODE.sub("", texts(at)) + "\n" + "\n".join(
        str(getattr(w, "label", "")) for kind in ("radio", "selectbox", "number_input", "button",
                                                    "toggle", "text_input", "date_input")
        for w in getattr(at, kind)))
    assert found == [], f"{where}: {found}"


def test_the_scan_can_fail(kb: KnowledgeBase) -> None:
    rule = kb.rules[0].id
    assert engine_tokens(kb, f"because: {rule}") != []
    assert engine_tokens(kb, "spectrum.maladaptive.markers_fail_persist") != []
    assert engine_tokens(kb, "(tas20_total = 55)") != []
    assert engine_tokens(kb, "answer given: no") != []
    assert engine_tokens(kb, "The client cannot explain why they distance themselves.") == []


@pytest.mark.parametrize("vid", [v.id for v in VIGNETTES])
def test_results_and_triage_speak_plainly(vid: str, session: AppTest, kb: KnowledgeBase) -> None:
    v = next(x for x in VIGNETTES if x.id == vid)
    upload(session, "case-file.json", json.dumps(v.case).encode())  # the name is the user's own
    scan(session, kb, f"{vid}: case file page")
    goto(session, "results")
    scan(session, kb, f"{vid}: results")
    goto(session, "triage")
    scan(session, kb, f"{vid}: triage")


@pytest.mark.parametrize("page", ["assessment", "self_check"])
def test_every_step_speaks_plainly(page: str, session: AppTest, kb: KnowledgeBase) -> None:
    v = next(x for x in VIGNETTES if x.id == "complex_trauma")
    upload(session, "case-file.json", json.dumps(v.case).encode())  # the name is the user's own
    goto(session, page)
    prefix = "q_" if page == "assessment" else "self_q_"
    ws = Workspace("client", "q_") if page == "assessment" else Workspace("self", "self_q_",
                                                                          fixed_subject="clinician_self")
    for index in range(len(form_steps(ws, kb)) + 1):
        session.radio(key=f"{prefix}_step").set_value(index)
        run(session)
        scan(session, kb, f"{page} step {index + 1}")


@pytest.mark.parametrize("page", ["catalogue", "training"])
def test_learning_pages_speak_plainly_until_ids_are_asked_for(page: str, session: AppTest,
                                                              kb: KnowledgeBase) -> None:
    goto(session, page)
    scan(session, kb, page)
