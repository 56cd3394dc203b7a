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
    """A condition in words of the data (ids, options and numbers with parameters resolved)."""
    if isinstance(cond, Holds):
        return cond.fact
    if isinstance(cond, AnswerIn):
        return f"{cond.answer} is {' or '.join(cond.is_in)}"
    low, high = kb.bounds(cond)
    if low != float("-inf") and high != float("inf"):
        return f"{cond.answer} from {int(low)} to {int(high)}"
    if low != float("-inf"):
        return f"{cond.answer} at least {int(low)}"
    return f"{cond.answer} at most {int(high)}"


def answer_holds(kb: KnowledgeBase, cond: AnswerIn | AnswerRange, value: Answer) -> bool:
    """Whether a given answer value satisfies an answer condition."""
    if isinstance(cond, AnswerIn):
        return value in cond.is_in
    low, high = kb.bounds(cond)
    return isinstance(value, int) and low <= value <= high


def condition_states(
    kb: KnowledgeBase, rule: Rule, answers: Mapping[str, Answer], derived: frozenset[str]
) -> list[ConditionState]:
    """Each condition of a rule (when, then unless) with its status for these answers and facts.

    A derived fact that is absent counts as unmet; an answer that is absent counts as unknown.
    """
    states: list[ConditionState] = []
    for cond in rule.when:
        text = describe(kb, cond)
        if isinstance(cond, Holds):
            status = Status.MET if cond.fact in derived else Status.UNMET
            states.append(ConditionState(text, status, fact=cond.fact))
            continue
        value = answers.get(cond.answer)
        if value is None:
            status = Status.UNKNOWN
        else:
            status = Status.MET if answer_holds(kb, cond, value) else Status.UNMET
        states.append(ConditionState(text, status, question=cond.answer))
    for ref in rule.unless:
        status = Status.UNMET if ref in derived else Status.MET
        states.append(ConditionState(f"not {ref}", status, fact=ref, negated=True))
    return states


def rule_fires(
    kb: KnowledgeBase, rule: Rule, answers: Mapping[str, Answer], derived: frozenset[str] | set[str]
) -> bool:
    """Whether all of a rule's conditions hold (its `unless` facts being final)."""
    for cond in rule.when:
        if isinstance(cond, Holds):
            if cond.fact not in derived:
                return False
        else:
            value = answers.get(cond.answer)
            if value is None or not answer_holds(kb, cond, value):
                return False
    return not any(ref in derived for ref in rule.unless)


def forward_chain(kb: KnowledgeBase, answers: Mapping[str, Answer]) -> tuple[frozenset[str], list[str]]:
    """Evaluate every rule stratum by stratum; return the derived facts and the fired rule ids.

    One pass in stratum order suffices: a stratum reads only what lower strata assert.
    """
    derived: set[str] = set()
    fired: list[str] = []
    for rule in sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id)):
        # No rule reads what its own stratum asserts, so adding facts at once is safe.
        if rule_fires(kb, rule, answers, derived):
            fired.append(rule.id)
            derived.update(rule.then)
    return frozenset(derived), fired
