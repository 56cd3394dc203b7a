"""Rules compiled from data into experta, and one evaluation with its own trace.

The rule classes are built once per knowledge base (per process); each `Evaluator` owns one
experta engine instance and is never shared between users. Every evaluation resets the
engine, declares the case's answers in a fixed order, runs, and records which rule fired on
which facts, without experta's process-global watch loggers.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from experta import AS, NOT, Fact, InitialFact, KnowledgeEngine, P, watchers
from experta import Rule as ExpertaRule

from engine.agenda import ExactRemovalDepthStrategy
from engine.case import Answer, Case
from engine.kb_loader import KnowledgeBase
from engine.knowledge import AnswerIn, AnswerRange, Holds, Rule
from engine.matcher import FastReteMatcher

# experta logs every fired rule with its facts (case content) through process-global loggers;
# nothing about a case may reach a log, so they are switched off here, once.
for _name in watchers.ALL:
    logging.getLogger(f"{watchers.__name__}.{_name}").disabled = True


class AnswerFact(Fact):  # type: ignore[misc]
    """An answer of the case: question id `q`, value `v`."""


class DerivedFact(Fact):  # type: ignore[misc]
    """A fact asserted by a rule, named 'kind.id' in `ref`."""


# experta's Rete tests a new fact against every distinct first condition under its type, one
# token copy each: with ~50 questions that is ~50 copies per answer. Spreading facts over a
# few subclasses by a stable hash of their name makes it ~6 type tests plus ~9 name tests.
BUCKETS = 6
_ANSWER_CLASSES = [type(f"AnswerFact{i}", (AnswerFact,), {}) for i in range(BUCKETS)]
_DERIVED_CLASSES = [type(f"DerivedFact{i}", (DerivedFact,), {}) for i in range(BUCKETS)]


def _bucket(name: str) -> int:
    return zlib.crc32(name.encode()) % BUCKETS


def answer_fact(qid: str, **fields: Any) -> Any:
    """The experta fact (or pattern, with constraints as fields) for an answer to `qid`."""
    return _ANSWER_CLASSES[_bucket(qid)](q=qid, **fields)


def derived_fact(ref: str) -> Any:
    """The experta fact (or pattern) for the derived fact `ref`."""
    return _DERIVED_CLASSES[_bucket(ref)](ref=ref)


@dataclass(frozen=True)
class Firing:
    """One rule firing: the rule, the facts it used (in condition order) and what it asserted."""

    rule: str
    stratum: int
    used: tuple[str, ...]
    asserted: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    """The outcome of one evaluation: the derived facts and the trace, in causal order."""

    derived: frozenset[str]
    trace: tuple[Firing, ...]


def describe_answer(qid: str, value: Answer) -> str:
    """How an answer fact is written in a trace."""
    return f"{qid} = {value}"


def _pattern(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds) -> Any:
    if isinstance(cond, Holds):
        return derived_fact(cond.fact)
    if isinstance(cond, AnswerIn):
        options = frozenset(cond.is_in)
        return answer_fact(cond.answer, v=P(lambda v: v in options))
    low, high = kb.bounds(cond)
    return answer_fact(cond.answer, v=P(lambda v: isinstance(v, int) and low <= v <= high))


def _used(fact: Any) -> str:
    if isinstance(fact, DerivedFact):
        return str(fact["ref"])
    return describe_answer(fact["q"], fact["v"])


def _rhs(rule: Rule, stratum: int, bound: tuple[str, ...]) -> Callable[..., None]:
    negated = tuple(f"not {ref}" for ref in rule.unless)

    def fire(engine: TracingEngine, **facts: Any) -> None:
        used = tuple(_used(facts[name]) for name in bound) + negated
        engine.record(Firing(rule.id, stratum, used, rule.then))
        engine.declare(*(derived_fact(ref) for ref in rule.then))

    fire.__name__ = "rule_" + rule.id.replace(".", "__")
    return fire


class TracingEngine(KnowledgeEngine):  # type: ignore[misc]
    """A KnowledgeEngine that records its own firings. Subclassed per knowledge base."""

    __strategy__ = ExactRemovalDepthStrategy
    __matcher__ = FastReteMatcher

    def __init__(self) -> None:
        super().__init__()
        self.firings: list[Firing] = []

    # experta finds rules and deffacts with inspect.getmembers(self), which binds every
    # class-level Rule to the instance (Rule.__get__ sets _wrapped_self, and .ke is set too):
    # the class, shared by all sessions, would then keep the last engine and its case's facts
    # alive. The rules are read from the class unbound instead (the matcher copies them), and
    # the initial fact is declared by the evaluation itself.
    def get_rules(self) -> list[Any]:
        """The compiled rules (of this class and its bases), unbound."""
        rules: dict[str, Any] = {}
        for cls in reversed(type(self).__mro__):
            rules.update((k, v) for k, v in vars(cls).items() if isinstance(v, ExpertaRule))
        return list(rules.values())

    def get_deffacts(self) -> list[Any]:
        """None: each evaluation declares the initial fact with the answers."""
        return []

    def record(self, firing: Firing) -> None:
        """Remember a firing of this evaluation."""
        self.firings.append(firing)


@cache
def engine_class(kb: KnowledgeBase) -> type[TracingEngine]:
    """Compile the knowledge base's rules into an experta engine class (once per process)."""
    top = max(kb.strata.values(), default=0)
    members: dict[str, Any] = {}
    for rule in kb.rules:
        stratum = kb.strata[rule.id]
        patterns: list[Any] = []
        bound: list[str] = []
        for i, cond in enumerate(rule.when):
            name = f"c{i}"
            patterns.append(getattr(AS, name) << _pattern(kb, cond))
            bound.append(name)
        patterns.extend(NOT(derived_fact(ref)) for ref in rule.unless)
        if not bound:
            patterns.insert(0, InitialFact())
        # Higher salience fires first: stratum 0 (reads answers only) first, and a rule reading
        # a derived fact, with or without NOT, only once every rule that could assert it is done.
        compiled = ExpertaRule(*patterns, salience=top - stratum)(_rhs(rule, stratum, tuple(bound)))
        members["rule_" + rule.id.replace(".", "__")] = compiled
    return type("CompiledEngine", (TracingEngine,), members)


class Evaluator:
    """One experta engine for one user session (or one evaluation): never share it."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._engine = engine_class(kb)()
        self._lock = threading.Lock()

    def run(self, case: Case) -> Run:
        """Evaluate one case from a clean engine and return what was derived, with the trace."""
        return self.run_answers(case.answers)

    def run_answers(self, answers: Mapping[str, Answer]) -> Run:
        """Evaluate flat answers by question id (already validated)."""
        with self._lock:
            engine = self._engine
            engine.reset()  # the previous case's facts go here, before anything is declared
            engine.firings = []
            # Declared in sorted order so the order of answers in a file cannot change the run;
            # in one call, so experta updates its agenda once rather than once per answer.
            engine.declare(InitialFact(), *(answer_fact(qid, v=answers[qid]) for qid in sorted(answers)))
            engine.run()
            firings = engine.firings
            engine.firings = []
        derived = frozenset(ref for f in firings for ref in f.asserted)
        ordered = tuple(sorted(firings, key=lambda f: (f.stratum, f.rule, f.used)))
        return Run(derived=derived, trace=ordered)
