"""Answers given in another form: a date counted in whole weeks up to the assessment date.

A question with `answers_for` gives a number question's answer in another form. Dates are
turned into the number here, once, at the assessment date (so an assessment "as of" a date is
reproducible); categories stay as given and the rules read them beside the number (see
`KnowledgeBase.category_split`). A number given directly always wins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date

from engine.case import Answer, Case
from engine.errors import CaseError, Problem
from engine.kb_loader import KnowledgeBase


def date_questions(kb: KnowledgeBase, answers: Mapping[str, Answer]) -> list[str]:
    """The date questions these answers give."""
    return [qid for qid in answers if kb.questions[qid].kind == "date"]


def reasoning_answers(kb: KnowledgeBase, answers: Mapping[str, Answer],
                      as_of: date | None) -> dict[str, Answer]:
    """The answers with each number that a date answers for counted in weeks at `as_of`."""
    out = dict(answers)
    given = date_questions(kb, answers)
    if given and as_of is None:
        raise CaseError([Problem("as_of", "is required when the timeline gives dates: the "
                                          "assessment date the weeks are counted to (YYYY-MM-DD)")])
    problems = []
    for qid in given:
        target = kb.questions[qid].answers_for
        assert target is not None and as_of is not None  # checked at load and above
        when = date.fromisoformat(str(answers[qid]))
        if when > as_of:
            problems.append(Problem(f"{kb.questions[qid].section}.{qid}",
                                    f"is after the assessment date ({as_of.isoformat()})"))
        elif target.question not in answers:
            out[target.question] = (as_of - when).days // 7
    if problems:
        raise CaseError(problems)
    return dict(sorted(out.items()))


def counted_from_dates(kb: KnowledgeBase, answers: Mapping[str, Answer]) -> frozenset[str]:
    """The numbers that `reasoning_answers` would count from the dates among these answers."""
    out = set()
    for qid in date_questions(kb, answers):
        target = kb.questions[qid].answers_for
        if target is not None:
            out.add(target.question)
    return frozenset(out)


def for_reasoning(kb: KnowledgeBase, case: Case, as_of: date | None = None) -> Case:
    """The case as the rules read it, at `as_of` (default: the case's own as_of): numbers
    counted from dates at an earlier as_of are counted again."""
    when = as_of or case.as_of
    given = {k: v for k, v in case.answers.items() if k not in case.from_dates}
    answers = reasoning_answers(kb, given, when)
    if answers == dict(case.answers) and when == case.as_of:
        return case
    derived = frozenset(k for k in answers if k not in given)
    return dataclasses.replace(case, answers=answers, as_of=when, from_dates=derived)
