"""Hypothesis strategies that generate valid case files from the question catalogue."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

from engine import KnowledgeBase
from engine.case import ANSWER_SECTIONS
from engine.knowledge import Question

AS_OF = "2026-06-01"


def _value(q: Question) -> st.SearchStrategy[Any]:
    if q.kind == "date":
        return st.dates(date(2000, 1, 1), date.fromisoformat(AS_OF)).map(date.isoformat)
    if q.kind == "integer":
        low = q.minimum or 0
        high = q.maximum if q.maximum is not None else low + 1000
        # Mostly small numbers, where the thresholds are, sometimes the whole range.
        return st.one_of(st.integers(low, min(high, low + 40)), st.integers(low, high))
    return st.sampled_from(q.allowed_options())


@st.composite
def case_dicts(draw: st.DrawFn, kb: KnowledgeBase) -> dict[str, Any]:
    """A valid version-1 case file: every question omitted or given a valid answer."""
    data: dict[str, Any] = {"schema_version": 1}
    subject_q = kb.questions_in("subject")
    if subject_q and draw(st.booleans()):
        data["subject"] = draw(st.sampled_from(subject_q[0].options))
    answers: dict[str, Any] = {}
    for q in kb.questions.values():
        if q.section == "subject" or q.requires:
            continue
        if draw(st.booleans()):
            answers[q.id] = draw(_value(q))
    for q in kb.questions.values():
        if q.requires and all(answers.get(k) in v for k, v in q.requires.items()) and draw(st.booleans()):
            answers[q.id] = draw(_value(q))
    if any(kb.questions[qid].kind == "date" for qid in answers):
        data["as_of"] = AS_OF
    for section in ANSWER_SECTIONS:
        values = {q.id: answers[q.id] for q in kb.questions_in(section) if q.id in answers}
        if values:
            data[section] = values
    return data
