"""Rule conditions evaluated in plain Python, on the same data experta is compiled from.

Used where experta cannot answer: which conditions of a rule that did not fire are unmet or
unknown (why not), static checks of the knowledge base, and fast what-if sweeps. A property
test keeps this evaluator and experta in agreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from engine.case import Answer
from engine.kb_loader import KnowledgeBase
from engine.knowledge import AnswerIn, AnswerRange, Holds, Rule


class Status(StrEnum):
    """Whether a condition holds for a case: met, unmet, or unknown (not answered yet)."""

    MET = "met"
    UNMET = "unmet"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ConditionState:
    """One condition of a rule and its status for a case."""

    text: str
    status: Status
    question: str | None = None
    fact: str | None = None
    negated: bool = False


def describe(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds) -> str:
    """A condition in the words of the data: ids, options, and numbers with their parameter."""
    if isinstance(cond, Holds):
        return cond.fact
    if isinstance(cond, AnswerIn):
        return f"{cond.answer} is {' or '.join(cond.is_in)}"

    def bound(value: int | str) -> str:
        return f"{kb.param(value)} ({value})" if isinstance(value, str) else str(value)

    parts = []
    if cond.at_least is not None:
        parts.append(f"at least {bound(cond.at_least)}")
    if cond.at_most is not None:
        parts.append(f"at most {bound(cond.at_most)}")
    if cond.below is not None:
        parts.append(f"below {bound(cond.below)}")
    return f"{cond.answer} {' and '.join(parts)}"


def answer_holds(kb: KnowledgeBase, cond: AnswerIn | AnswerRange, value: Answer) -> bool:
    """Whether a given answer value satisfies an answer condition."""
    if isinstance(cond, AnswerIn):
        return value in cond.is_in
    low, high = kb.bounds(cond)
    return isinstance(value, int) and low <= value <= high


def condition_states(
    kb: KnowledgeBase, rule: Rule, answers: Mapping[str, Answer], derived: frozenset[str],
    open_facts: frozenset[str] = frozenset(),
) -> list[ConditionState]:
    """Each condition of a rule (when, then unless) with its status for these answers and facts.

    An answer that is absent counts as unknown. A derived fact that is absent counts as unmet,
    or as unknown when it is in `open_facts` (answers to open questions could still assert it).
    """
    states: list[ConditionState] = []
    for cond in rule.when:
        text = describe(kb, cond)
        if isinstance(cond, Holds):
            status = (Status.MET if cond.fact in derived
                      else Status.UNKNOWN if cond.fact in open_facts else Status.UNMET)
            states.append(ConditionState(text, status, fact=cond.fact))
            continue
        value = answers.get(cond.answer)
        if value is None:
            status = Status.UNKNOWN
        else:
            status = Status.MET if answer_holds(kb, cond, value) else Status.UNMET
        states.append(ConditionState(text, status, question=cond.answer))
    for ref in rule.unless:
        status = (Status.UNMET if ref in derived
                  else Status.UNKNOWN if ref in open_facts else Status.MET)
        states.append(ConditionState(f"not {ref}", status, fact=ref, negated=True))
    return states
