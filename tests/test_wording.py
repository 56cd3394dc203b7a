"""Self-check and client wording (issue 11, item 5): every prompt has its client and its self
wording, and questions about the clinician are asked of the clinician, in the self-check or in the
therapist-reactions step only."""

from __future__ import annotations

import re

from engine import KnowledgeBase
from ui.form import form_steps
from ui.state import SELF_SUBJECT, Workspace

ABOUT_THE_CLINICIAN = re.compile(r"\bthe clinician\b", re.IGNORECASE)
THE_CLIENT = re.compile(r"\bthe client'?s?\b", re.IGNORECASE)
CLINICIAN_STEPS = {"therapist"}


def test_every_prompt_has_a_self_wording(kb: KnowledgeBase) -> None:
    missing = [q.id for q in kb.questions.values() if q.section != "subject" and not q.prompt_self]
    assert missing == []


def test_the_self_check_never_asks_about_the_client(kb: KnowledgeBase) -> None:
    ws = Workspace("self", "self_q_", fixed_subject=SELF_SUBJECT)
    asked = [q for _, qs in form_steps(ws, kb) for q in qs]
    assert asked, "the self-check asks nothing"
    worded = {q.id: q.wording(SELF_SUBJECT) for q in asked}
    assert [qid for qid, text in worded.items() if THE_CLIENT.search(text)] == []


def test_questions_about_the_clinician_only_in_the_clinicians_steps(kb: KnowledgeBase) -> None:
    ws = Workspace("client", "q_")
    for step, questions in form_steps(ws, kb):
        for q in questions:
            if ABOUT_THE_CLINICIAN.search(q.wording("client")):
                assert step.id in CLINICIAN_STEPS, (q.id, step.id)


def test_the_wording_checks_can_fail() -> None:
    assert THE_CLIENT.search("Is the client's affect flat?")
    assert ABOUT_THE_CLINICIAN.search("Is the clinician intellectualizing sessions?")
    assert not ABOUT_THE_CLINICIAN.search("Does the client work as a clinician?")
