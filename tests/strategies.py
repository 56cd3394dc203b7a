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
def case_dicts(draw: st.DrawFn, kb: KnowledgeBase, complete: bool = False) -> dict[str, Any]:
    """A valid version-1 case file: every question omitted or given a valid answer.

    With `complete`, every key marker of the source is assessed (an answer to one of its
    questions that takes no requirement), as in a full assessment."""
    data: dict[str, Any] = {"schema_version": 1}
    subject_q = kb.questions_in("subject")
    if subject_q and draw(st.booleans()):
        data["subject"] = draw(st.sampled_from(subject_q[0].options))
    answers: dict[str, Any] = {}
    must = set()
    if complete:
        for marker in kb.key_markers:
            free = [q for q in marker.questions if not kb.questions[q].requires]
            must.add(draw(st.sampled_from(free)))
    for q in kb.questions.values():
        if q.section == "subject" or q.requires:
            continue
        if q.id in must or draw(st.booleans()):
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


# ---- every value a case file can hold (issue 14: an exact YAML and JSON round trip) ---------

# Case ids that a YAML 1.1 or 1.2 reader could take for something other than text.
TRICKY_IDS = ("1e3", "1E3", "1e-3", "1.5", "1.", "010", "0x1F", "0o7", "1_000", "true", "True",
              "FALSE", "null", "Null", "NULL", "yes", "No", "on", "OFF", "y", "n", "NaN", "inf",
              "1.0e-17", "12e", "0", "1-2", "2024-01-01", "1.0.0", "E5", "e5")
# Pieces of notes that YAML folds, refuses, reads as syntax or as another type.
NOTE_PIECES = ("\x85", "\u2028", "\u2029", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\x00",
               "\x07", "\x1b[2J", "\x7f", "\x9b", "\u202e", "\u2066", "\u200f", "\u061c", "\ufeff",
               "\xa0", "'", '"', "\\", "#", ": ", "- ", "---", "...", "&a", "*a", "!!binary ", "%",
               "@", "`", "|", ">", "{", "}", "[", "]", ",", "?", "1e3", "no", "null", "~", "",
               "\U0001f600", "é", "\ud7ff", "\ue000", "\ufffd")


def notes_text() -> st.SearchStrategy[str]:
    """Free text mixing arbitrary characters with the pieces above (never a lone surrogate,
    which is not text: the case model refuses it)."""
    chars = st.characters(exclude_categories=("Cs",))
    piece = st.one_of(st.sampled_from(NOTE_PIECES), st.text(chars, max_size=8))
    return st.lists(piece, max_size=24).map("".join)


@st.composite
def case_files(draw: st.DrawFn, kb: KnowledgeBase) -> dict[str, Any]:
    """A valid case file with every kind of value it can hold: answers (as `case_dicts`), and
    maybe a case id (often one that looks like a number or a keyword), notes (null, empty,
    or any text) and as_of."""
    from engine.case import CASE_ID_PATTERN

    data = draw(case_dicts(kb))
    if draw(st.booleans()):
        data["case_id"] = draw(st.one_of(st.sampled_from(TRICKY_IDS),
                                         st.from_regex(CASE_ID_PATTERN, fullmatch=True)))
    if draw(st.booleans()):
        data["notes"] = draw(st.one_of(st.none(), notes_text()))
    if "as_of" not in data and draw(st.booleans()):
        data["as_of"] = draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))).isoformat()
    return data
