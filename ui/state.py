"""Per-session state: the session's case workspaces, and the engines lent to its evaluations.

Everything about a case lives in `st.session_state` of one browser session, never in a
process-wide cache: two clinicians never see each other's case. The knowledge base itself is
shared (it holds no case data) and is loaded once per process by the engine; each evaluation
has an engine to itself for its duration (`engine_pool`), emptied when it goes back.

A workspace keeps the answers in a plain dict that outlives the widgets: Streamlit drops a
widget's state when the widget is not drawn in a run (another step, another page), so each
widget is re-seeded from the dict when it is drawn again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import streamlit as st

from engine import Case, CaseError, KnowledgeBase, Report, assess, case_from_answers
from engine.case import CASE_ID_PATTERN, Answer
from engine.knowledge import UNKNOWN, Question
from engine.pool import EvaluatorPool
from engine.report import EngineError

log = logging.getLogger(__name__)

CLIENT = "client"
SELF = "self"
SELF_SUBJECT = "clinician_self"  # the case contract's subject for a clinician's self-check
# Evaluations a workspace keeps (the current answers, explained and plain, and the one before,
# so that undoing an answer is instant); more would only hold memory for the session's life.
MEMO_SIZE = 3


@dataclass
class Evaluation:
    """One assessment of a workspace: the case and report, or the problems that stopped it."""

    case: Case | None
    report: Report | None
    problems: list[str]
    explained: bool
    set_aside: list[str]

    def __repr__(self) -> str:
        # Never the case or the report: a repr can end up in a log or an error message.
        return f"Evaluation(assessed={self.report is not None}, problems={len(self.problems)})"


@dataclass
class Workspace:
    """One case being worked on in this session (the client assessment or the self-check)."""

    name: str
    prefix: str
    fixed_subject: str | None = None
    answers: dict[str, Answer] = field(default_factory=dict)
    case_id: str = ""
    notes: str = ""
    as_of: str = ""  # the assessment date of a loaded case (YYYY-MM-DD); else today, for dates
    step: int = 0
    triage_asked: list[str] = field(default_factory=list)
    triage_shown: list[str] = field(default_factory=list)
    triage_budget: int = 6
    message: tuple[str, list[str]] | None = None
    _memo: dict[tuple[Any, ...], Evaluation] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Never the answers, id or notes: a repr can end up in a log or an error message.
        return f"Workspace({self.name!r}, {len(self.answers)} answers)"

    def key(self, qid: str) -> str:
        """The widget key of a question in this workspace (stable across reruns and pages)."""
        return f"{self.prefix}{qid}"

    def widget_keys(self, state: Mapping[str, Any]) -> list[str]:
        """Every widget key this workspace owns that is currently in session state."""
        own = (self.prefix, f"{self.prefix}_")
        return [k for k in state if isinstance(k, str) and k.startswith(own)]


def session() -> MutableMapping[str, Any]:
    """The session's state (a seam for tests)."""
    state: MutableMapping[str, Any] = st.session_state  # type: ignore[assignment]
    return state


# Engines kept for the app's sessions between evaluations (clinical-judgment free: a resource
# setting). More sessions evaluating at once get engines of their own, dropped afterwards.
ENGINES_KEPT = 4
_pools: dict[int, EvaluatorPool] = {}
_pools_lock = threading.Lock()


def engine_pool(kb: KnowledgeBase) -> EvaluatorPool:
    """The process's engines for this knowledge base; each is lent to one evaluation at a time.

    A session holds no engine between its evaluations, so a session that has ended holds only
    its answers and its last few evaluations until Streamlit drops it.
    """
    with _pools_lock:
        pool = _pools.get(id(kb))
        if pool is None or pool.kb is not kb:
            pool = _pools[id(kb)] = EvaluatorPool(kb, keep=ENGINES_KEPT)
        return pool


def workspace(name: str) -> Workspace:
    """The session's workspace by name, created on first use."""
    state = session()
    key = f"workspace_{name}"
    ws = state.get(key)
    if not isinstance(ws, Workspace):
        ws = (Workspace(CLIENT, "q_") if name == CLIENT
              else Workspace(SELF, "self_q_", fixed_subject=SELF_SUBJECT))
        state[key] = ws
    return ws


def subject_question(kb: KnowledgeBase) -> Question | None:
    """The catalogue's question that says who is assessed."""
    found = kb.questions_in("subject")
    return found[0] if found else None


def subject_of(ws: Workspace, kb: KnowledgeBase) -> str:
    """Who this workspace's case is about."""
    if ws.fixed_subject:
        return ws.fixed_subject
    sq = subject_question(kb)
    if sq is None:
        return CLIENT
    value = ws.answers.get(sq.id)
    return str(value) if value is not None else sq.options[0]


def effective_answers(ws: Workspace, kb: KnowledgeBase) -> tuple[dict[str, Answer], list[str]]:
    """The answers that go into the case, and the ids kept aside because a requirement is unmet.

    An answer whose requirement is not met (weeks since the situation ended, while it is not
    marked as ended) stays in the form, so nothing typed is lost, but never reaches the case.
    """
    given = {k: v for k, v in ws.answers.items() if v is not None and v != UNKNOWN}
    if ws.fixed_subject:
        sq = subject_question(kb)
        if sq is not None:
            given[sq.id] = ws.fixed_subject
    out: dict[str, Answer] = {}
    aside: list[str] = []
    for qid, value in given.items():
        q = kb.questions.get(qid)
        if q is None:
            continue
        if q.requirements_met(given):
            out[qid] = value
        else:
            aside.append(qid)
    return out, sorted(aside)


def case_id_problem(case_id: str) -> str | None:
    """What is wrong with a case id as typed, or None."""
    if case_id and not re.match(CASE_ID_PATTERN, case_id):
        return ("A case id is a short pseudonymous code (letters, digits, . _ -; at most 40 "
                "characters), never a name.")
    return None


def build_case(ws: Workspace, kb: KnowledgeBase) -> tuple[Case, list[str]]:
    """The workspace as a validated case (raises CaseError), and the answers kept aside."""
    answers, aside = effective_answers(ws, kb)
    case = case_from_answers(answers, kb, subject=subject_of(ws, kb),
                             case_id=ws.case_id.strip() or None, notes=ws.notes or None,
                             as_of=assessment_date(ws, kb, answers))
    return case, aside


def assessment_date(ws: Workspace, kb: KnowledgeBase, answers: Mapping[str, Answer]) -> date | None:
    """The date dates are counted to: the loaded case's own, or today when the form gives dates."""
    if ws.as_of:
        return date.fromisoformat(ws.as_of)
    if any(kb.questions[q].kind == "date" for q in answers if q in kb.questions):
        return date.today()
    return None


def evaluate(ws: Workspace, kb: KnowledgeBase, explain: bool = True) -> Evaluation:
    """Assess the workspace's case with the session's evaluator, memoised per session.

    Only the last few evaluations are kept, in the session itself. Explanations are used when
    the engine offers them; if it cannot, the plain report is shown and the views say so.
    """
    answers, _ = effective_answers(ws, kb)
    same_case = (tuple(sorted(answers.items())), subject_of(ws, kb), ws.case_id, ws.notes,
                 kb.sha256, assessment_date(ws, kb, answers))
    # An explained evaluation also serves a plain request for the same case.
    hit = ws._memo.get((*same_case, explain)) or (None if explain else ws._memo.get((*same_case, True)))
    if hit is not None:
        return hit
    try:
        case, aside = build_case(ws, kb)
    except CaseError as exc:
        result = Evaluation(None, None, exc.lines(), False, [])
    else:
        result = assess_case(case, kb, explain, aside)
    while len(ws._memo) >= MEMO_SIZE:
        ws._memo.pop(next(iter(ws._memo)))
    ws._memo[(*same_case, explain)] = result
    return result


def assess_case(case: Case, kb: KnowledgeBase, explain: bool = True,
                aside: list[str] | None = None) -> Evaluation:
    """Assess a validated case with the session's evaluator; problems instead of a traceback."""
    with engine_pool(kb).lend() as ev:
        try:
            if explain:
                try:
                    return Evaluation(case, assess(case, ev, explain=True), [], True, aside or [])
                except Exception as exc:  # explanations are an extra: fall back to the plain report
                    # Only the exception's type: its message could quote case content.
                    log.warning("explanations unavailable (%s); showing the plain report",
                                type(exc).__name__)
            return Evaluation(case, assess(case, ev), [], False, aside or [])
        except EngineError as exc:
            return Evaluation(case, None, exc.lines(), False, aside or [])


def load_case(ws: Workspace, case: Case, kb: KnowledgeBase) -> None:
    """Replace the workspace's answers with a validated case; the widgets re-seed from it.

    Call from a widget callback (before widgets are drawn), so their keys can be reset.
    """
    # As given: numbers counted from dates are counted again at each assessment.
    answers = {k: v for k, v in case.answers.items() if k not in case.from_dates}
    sq = subject_question(kb)
    if sq is not None and ws.fixed_subject:
        answers.pop(sq.id, None)
    ws.answers = answers
    ws.case_id = case.case_id or ""
    ws.notes = case.notes or ""
    ws.as_of = case.as_of.isoformat() if case.as_of else ""
    ws.triage_asked = []
    ws.triage_shown = []
    ws._memo.clear()
    state = session()
    for key in ws.widget_keys(state):
        del state[key]
