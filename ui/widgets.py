"""One labelled input per catalogue question, bound to a workspace's persistent answers."""

from __future__ import annotations

from datetime import date

import streamlit as st

from engine import KnowledgeBase
from engine.case import Answer
from engine.knowledge import UNKNOWN, Question
from ui.state import Workspace, session
from ui.words import choices, md_text, option_label, question_label

RADIO_MAX_OPTIONS = 5  # more options than this read better as a drop-down
SOURCES_KEY = "show_question_sources"


def source_help(q: Question) -> str:
    """The tooltip of a question: its source section and verbatim quote (and reference)."""
    text = f"Source: *{md_text(q.source.section)}*: “{md_text(q.source.quote)}”"
    if q.source.reference:
        text += f" Reference: {md_text(q.source.reference)}"
    return text


def _given(ws: Workspace, kb: KnowledgeBase) -> dict[str, Answer]:
    given = dict(ws.answers)
    if ws.fixed_subject:
        for q in kb.questions_in("subject"):
            given[q.id] = ws.fixed_subject
    return given


def _store(ws: Workspace, qid: str, value: object) -> None:
    if value is None or value == UNKNOWN or isinstance(value, bool):
        ws.answers.pop(qid, None)
    elif isinstance(value, date):
        ws.answers[qid] = value.isoformat()
    elif isinstance(value, int | float):
        ws.answers[qid] = int(value)
    else:
        ws.answers[qid] = str(value)


def seed(ws: Workspace, q: Question) -> None:
    """Set a question's widget state from the workspace's answers (call before it is drawn)."""
    state = session()
    key = ws.key(q.id)
    stored = ws.answers.get(q.id)
    if q.kind == "integer":
        state[key] = stored if isinstance(stored, int) else None
    elif q.kind == "date":
        state[key] = date.fromisoformat(stored) if isinstance(stored, str) else None
    else:
        opts = choices(q)
        state[key] = stored if stored in opts else (UNKNOWN if UNKNOWN in opts else opts[0])


def question_input(ws: Workspace, kb: KnowledgeBase, q: Question, subject: str | None) -> None:
    """Draw the input for one question; its value survives steps, pages and reruns.

    The widget is seeded from the workspace's answers whenever Streamlit has forgotten it, and
    what it returns is written back, so the answers dict stays the one source of truth.
    """
    state = session()
    key = ws.key(q.id)
    if key not in state:
        seed(ws, q)
    allowed = q.requirements_met(_given(ws, kb))
    label = question_label(kb, q.id, subject)
    # No help icon: each one would be a tab stop of its own. The source is a caption, on request.
    tip = None
    if q.kind == "date":
        value: object = st.date_input(label, value=None, key=key, help=tip, disabled=not allowed,
                                      max_value=date.today(), format="YYYY-MM-DD", width=420)
    elif q.kind == "integer":
        upper = f" to {q.maximum}" if q.maximum is not None else " or more"
        value = st.number_input(
            label, min_value=q.minimum, max_value=q.maximum, value=None, step=1, key=key,
            help=tip, disabled=not allowed, width=420,
            placeholder=f"Unknown: leave blank (whole number from {q.minimum}{upper})",
        )
    else:
        opts = choices(q)
        def words(v: str, q: Question = q) -> str:
            return option_label(q, v)

        if len(opts) <= RADIO_MAX_OPTIONS:
            value = st.radio(label, opts, key=key, help=tip, disabled=not allowed,
                             format_func=words, horizontal=True)
        else:
            value = st.selectbox(label, opts, key=key, help=tip, disabled=not allowed,
                                 format_func=words, width=420)
    st.caption(md_text(q.help))
    if session().get(SOURCES_KEY):
        st.caption(source_help(q))
    if not allowed:
        needs = "; ".join(
            f"“{question_label(kb, other, subject)}” is "
            + " or ".join(option_label(kb.questions[other], v) for v in values)
            for other, values in q.requires.items()
        )
        aside = " The answer given is kept aside until then." if q.id in ws.answers else ""
        st.caption(md_text(f"Only asked when {needs}.{aside}"))
    _store(ws, q.id, value)


def sync(ws: Workspace, kb: KnowledgeBase) -> None:
    """Copy the values of this workspace's drawn widgets into its answers before anything reads them.

    Widget values of the run are known when the script starts; syncing first means a summary drawn
    above the inputs already reflects the change just made.
    """
    state = session()
    for q in kb.questions.values():
        key = ws.key(q.id)
        if key in state:
            _store(ws, q.id, state[key])
    for attr in ("case_id", "notes"):
        key = f"{ws.prefix}_{attr}"
        if key in state and isinstance(state[key], str):
            setattr(ws, attr, state[key])
