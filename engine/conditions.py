"""Rule conditions evaluated in plain Python, on the same data experta is compiled from.

Used where experta cannot answer: which conditions of a rule that did not fire are unmet or
unknown (why not), static checks of the knowledge base, and fast what-if sweeps. A property
test keeps this evaluator and experta in agreement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from engine.case import Answer
from engine.kb_loader import KnowledgeBase
from engine.knowledge import AnswerIn, AnswerRange, Holds, Rule, TallyRange

AnyCondition = AnswerIn | AnswerRange | Holds | TallyRange


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
    tally: str | None = None


def describe(kb: KnowledgeBase, cond: AnyCondition) -> str:
    """A condition in the words of the data: ids, options, and numbers with their parameter."""
    if isinstance(cond, Holds):
        return cond.fact
    if isinstance(cond, AnswerIn):
        return f"{cond.answer} is {' or '.join(cond.is_in)}"

    def bound(value: int | str) -> str:
        return f"{kb.param(value)} ({value})" if isinstance(value, str) else str(value)

    if isinstance(cond, TallyRange):
        name = f"tally {cond.tally}" + (f" minus tally {cond.minus}" if cond.minus else "")
    else:
        name = cond.answer

    parts = []
    if cond.at_least is not None:
        parts.append(f"at least {bound(cond.at_least)}")
    if cond.at_most is not None:
        parts.append(f"at most {bound(cond.at_most)}")
    if cond.below is not None:
        parts.append(f"below {bound(cond.below)}")
    return f"{name} {' and '.join(parts)}"


def answer_holds(kb: KnowledgeBase, cond: AnswerIn | AnswerRange, value: Answer) -> bool:
    """Whether a given answer value satisfies an answer condition."""
    if isinstance(cond, AnswerIn):
        return value in cond.is_in
    low, high = kb.bounds(cond)
    return isinstance(value, int) and low <= value <= high


def answer_status(kb: KnowledgeBase, cond: AnswerIn | AnswerRange, answers: Mapping[str, Answer]) -> Status:
    """An answer condition for these answers. A number given directly decides; failing that, a
    category answering for it decides when its whole range lies inside or outside the condition's
    range; otherwise the condition is unknown."""
    value = answers.get(cond.answer)
    if value is not None:
        return Status.MET if answer_holds(kb, cond, value) else Status.UNMET
    if isinstance(cond, AnswerRange):
        split = kb.category_split(cond)
        if split is not None:
            category, inside, outside = split
            given = answers.get(category)
            if given in inside:
                return Status.MET
            if given in outside:
                return Status.UNMET
    return Status.UNKNOWN


def tally_interval(kb: KnowledgeBase, tally: str, status_of: Callable[[str], Status]) -> tuple[int, int]:
    """The least and greatest weight a tally can have: asserted arguments, then the open ones too."""
    low = high = 0
    for ref, weight in kb.tally_arguments(tally):
        status = status_of(ref)
        if status is Status.MET:
            low += weight
            high += weight
        elif status is Status.UNKNOWN:
            high += weight
    return low, high


def tally_status(kb: KnowledgeBase, cond: TallyRange, status_of: Callable[[str], Status]) -> Status:
    """A tally condition: met when every possible weight lies in its range, unmet when none does."""
    low, high = tally_interval(kb, cond.tally, status_of)
    if cond.minus is not None:
        m_low, m_high = tally_interval(kb, cond.minus, status_of)
        low, high = low - m_high, high - m_low
    lo, hi = kb.bounds(cond)
    if lo <= low and high <= hi:
        return Status.MET
    if high < lo or low > hi:
        return Status.UNMET
    return Status.UNKNOWN


def tally_value(kb: KnowledgeBase, cond: TallyRange, derived: frozenset[str] | set[str]) -> int:
    """The weight a tally condition compares, for a finished evaluation's derived facts."""
    def total(tally: str) -> int:
        return sum(w for ref, w in kb.tally_arguments(tally) if ref in derived)
    return total(cond.tally) - (total(cond.minus) if cond.minus else 0)


def condition_states(
    kb: KnowledgeBase, rule: Rule, answers: Mapping[str, Answer], derived: frozenset[str],
    open_facts: frozenset[str] = frozenset(),
) -> list[ConditionState]:
    """Each condition of a rule (when, then unless) with its status for these answers and facts.

    An answer that is absent counts as unknown. A derived fact that is absent counts as unmet,
    or as unknown when it is in `open_facts` (answers to open questions could still assert it).
    """
    states: list[ConditionState] = []

    def fact_status(ref: str) -> Status:
        return Status.MET if ref in derived else Status.UNKNOWN if ref in open_facts else Status.UNMET

    for cond in rule.when:
        text = describe(kb, cond)
        if isinstance(cond, Holds):
            states.append(ConditionState(text, fact_status(cond.fact), fact=cond.fact))
        elif isinstance(cond, TallyRange):
            states.append(ConditionState(text, tally_status(kb, cond, fact_status), tally=cond.tally))
        else:
            states.append(ConditionState(text, answer_status(kb, cond, answers), question=cond.answer))
    for ref in rule.unless:
        status = (Status.UNMET if ref in derived
                  else Status.UNKNOWN if ref in open_facts else Status.MET)
        states.append(ConditionState(f"not {ref}", status, fact=ref, negated=True))
    return states
