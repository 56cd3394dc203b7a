"""Rules compiled from data into experta, and one evaluation with its own trace.

The rule classes are built once per knowledge base (per process); each `Evaluator` owns one
experta engine instance and is never shared between users. Every evaluation resets the
engine, declares the case's answers in a fixed order, runs, and records which rule fired on
which facts, without experta's process-global watch loggers.
"""

from __future__ import annotations

import inspect
import logging
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

from experta import AS, MATCH, NOT, TEST, Fact, InitialFact, KnowledgeEngine, P, watchers
from experta import Rule as ExpertaRule
from experta.agenda import Agenda
from experta.factlist import FactList

from engine.agenda import ExactRemovalDepthStrategy
from engine.answer_forms import reasoning_answers
from engine.case import Answer, Case
from engine.kb_loader import KnowledgeBase
from engine.knowledge import AnswerIn, AnswerRange, Holds, Rule, TallyRange
from engine.matcher import FastReteMatcher, membership

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


class TallyFact(Fact):  # type: ignore[misc]
    """The weight `v` of a tally `t`, declared once the arguments it weighs are settled."""


def answer_fact(qid: str, **fields: Any) -> Any:
    """The experta fact (or pattern, with constraints as fields) for an answer to `qid`."""
    return _ANSWER_CLASSES[_bucket(qid)](q=qid, **fields)


def derived_fact(ref: str) -> Any:
    """The experta fact (or pattern) for the derived fact `ref`."""
    return _DERIVED_CLASSES[_bucket(ref)](ref=ref)


_new_dict = dict.__new__
_fill = dict.update
_set_item = dict.__setitem__


def made_fact(cls: type, fields: dict[str, Any]) -> Any:
    """`cls(**fields)` for a fact the engine makes itself from plain values (strings and
    integers): the same fact (same class, same items, in the same order) without experta's
    per-item `__setitem__`, `freeze` (the identity for a str or an int) and factid checks."""
    for value in fields.values():
        if type(value) is not str and type(value) is not int:
            return cls(**fields)
    fact: Any = _new_dict(cls)
    _fill(fact, fields)
    fact._Fact__defaults = {}  # what Fact.__init__ sets
    return fact


@cache
def _answer_class(qid: str) -> type:
    return _ANSWER_CLASSES[_bucket(qid)]


@cache
def _derived_class(ref: str) -> type:
    return _DERIVED_CLASSES[_bucket(ref)]


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


_new_firing = object.__new__


def describe_answer(qid: str, value: Answer) -> str:
    """How an answer fact is written in a trace."""
    return f"{qid} = {value}"


def _alternatives(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds | TallyRange,
                  name: str) -> list[list[Any]]:
    """The experta patterns for one condition, as alternatives (each a list of patterns)."""
    if isinstance(cond, Holds):
        return [[getattr(AS, name) << derived_fact(cond.fact)]]
    if isinstance(cond, TallyRange):
        low, high = kb.bounds(cond)
        patterns = [getattr(AS, name) << TallyFact(t=cond.tally, v=getattr(MATCH, name + "_v"))]
        if cond.minus is None:
            patterns.append(TEST(_within(name + "_v", None, low, high)))
        else:
            minus = TallyFact(t=cond.minus, v=getattr(MATCH, name + "_mv"))
            patterns.append(getattr(AS, name + "_m") << minus)
            patterns.append(TEST(_within(name + "_v", name + "_mv", low, high)))
        return [patterns]
    if isinstance(cond, AnswerIn):
        options = frozenset(cond.is_in)
        return [[getattr(AS, name) << answer_fact(cond.answer, v=P(membership(options)))]]
    low, high = kb.bounds(cond)
    number = [getattr(AS, name) << answer_fact(
        cond.answer, v=P(lambda v: isinstance(v, int) and low <= v <= high))]
    split = kb.category_split(cond)
    if split is None:
        return [number]
    category, inside, _ = split
    # A category answers for the number only while the number itself is not given.
    by_category = [getattr(AS, name) << answer_fact(category, v=P(membership(inside))),
                   NOT(answer_fact(cond.answer))]
    return [number, by_category]


def _within(value: str, minus: str | None, low: float, high: float) -> Callable[..., bool]:
    """A TEST on bound tally weights; experta passes a TEST the variables its signature names."""
    names = [value] + ([minus] if minus else [])

    def within(**bound: int) -> bool:
        total = bound[value] - (bound[minus] if minus else 0)
        return low <= total <= high

    within.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])
    return within


def _used(fact: Any) -> str:
    if isinstance(fact, DerivedFact):
        return str(fact["ref"])
    if isinstance(fact, TallyFact):
        return f"tally {fact['t']} = {fact['v']}"
    return describe_answer(fact["q"], fact["v"])


def _rhs(rule: Rule, stratum: int, bound: tuple[str, ...]) -> Callable[..., None]:
    negated = tuple(f"not {ref}" for ref in rule.unless)

    fields = {"rule": rule.id, "stratum": stratum, "asserted": rule.then}

    def fire(engine: TracingEngine, **facts: Any) -> None:
        used = tuple([_used(facts[name]) for name in bound]) + negated
        # Firing(rule.id, stratum, used, rule.then), its fields set directly rather than
        # through the frozen dataclass's object.__setattr__ for each.
        firing = _new_firing(Firing)
        firing.__dict__.update(fields, used=used)
        engine.record(firing)
        engine.derived.update(rule.then)
        engine.declare_derived(rule.then)

    fire.__name__ = "rule_" + rule.id.replace(".", "__")
    return fire


class TracingEngine(KnowledgeEngine):  # type: ignore[misc]
    """A KnowledgeEngine that records its own firings. Subclassed per knowledge base."""

    __strategy__ = ExactRemovalDepthStrategy
    __matcher__ = FastReteMatcher

    def __init__(self) -> None:
        super().__init__()
        self.firings: list[Firing] = []
        self.derived: set[str] = set()

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

    def declare_answers(self, answers: Mapping[str, Answer]) -> None:
        """Declare the initial fact and the answers, in sorted order and in one call (so
        experta updates its agenda once rather than once per answer)."""
        self.declare(InitialFact(), *(answer_fact(qid, v=answers[qid]) for qid in sorted(answers)))

    def declare_derived(self, refs: tuple[str, ...]) -> None:
        """Declare derived facts (from a rule's action)."""
        self.declare(*(derived_fact(ref) for ref in refs))

    def declare_tally(self, tally: str, total: int) -> None:
        """Declare a tally's weight."""
        self.declare(TallyFact(t=tally, v=total))


class _FactList(FactList):  # type: ignore[misc]
    """experta's fact list, declaring the same way without the call to its disabled logger."""

    @staticmethod
    def _get_fact_id(fact: Any) -> frozenset[Any]:
        """The fact's class and its non-special items, as experta identifies duplicates."""
        items = [(k, v) for k, v in fact.items()
                 if not (isinstance(k, str) and k.startswith("__") and k.endswith("__"))]
        return frozenset([fact.__class__, *items])

    def declare(self, fact: Any) -> Any:
        """`FactList.declare`, without the log call (its logger is disabled)."""
        if not isinstance(fact, Fact):
            raise ValueError("The fact must descend the Fact class.")
        if fact.__fields__:  # validation checks the declared fields; these classes have none
            fact.validate()
        fact_id = frozenset([fact.__class__, *[(k, v) for k, v in fact.items() if not (
            isinstance(k, str) and k.startswith("__") and k.endswith("__"))]])  # _get_fact_id
        return self._add(fact, fact_id)

    def declare_made(self, fact: Any) -> Any:
        """`declare` for a fact the engine made (`made_fact`, or a field-less class such as
        InitialFact): a Fact with no declared fields to validate and no double-underscore key
        yet, so its identity is its class and all its items."""
        return self._add(fact, frozenset([fact.__class__, *fact.items()]))

    def _add(self, fact: Any, fact_id: frozenset[Any]) -> Any:
        """Store the fact under the next index unless an equal one is there (duplication off)."""
        counter = self.reference_counter
        if self.duplication or fact_id not in counter:
            idx = self.last_index
            _set_item(fact, "__factid__", idx)  # what the __factid__ property's setter does
            self[idx] = fact
            self.last_index += 1
            self.added.append(fact)
            counter[fact_id] = counter.get(fact_id, 0) + 1  # `+= 1` without Counter.__missing__
            return fact
        return None


class FastTracingEngine(TracingEngine):
    """The tracing engine with experta's per-step overheads removed, same semantics: no calls
    to the disabled watcher loggers (experta formats every fired rule's facts for them first),
    and the facts this engine makes itself (answers, derived facts, tally weights: plain
    strings and integers, never patterns) declared without re-checking them for pattern
    constraints. Held equal to `TracingEngine` on experta's own matcher by tests/test_matcher.py."""

    def reset(self) -> None:
        """`KnowledgeEngine.reset` with no deffacts (see `get_deffacts`): a new agenda and
        fact list, the matcher wiped. (experta then declares the deffacts' facts, none here,
        and collects the activations that nothing made.)"""
        self.agenda = Agenda()
        self.facts = _FactList()
        self.matcher.reset()
        self.running = False

    def run(self, steps: float = float("inf")) -> None:
        """`KnowledgeEngine.run` without the watcher logging."""
        self.running = True
        agenda = self.agenda
        update = self.strategy._update_agenda
        changes = self.matcher.changes
        while steps > 0 and self.running:
            added, removed = changes(*self.facts.changes)
            update(agenda, added, removed)
            activation = agenda.get_next()
            if activation is None:
                break
            steps -= 1
            # `activation.rule(self, **context)`, as experta's Rule.__call__ runs a rule's action
            rule = activation.rule
            kwargs = {k: v for k, v in activation.context.items() if not k.startswith("__")}
            wanted = rule._wrapped_args
            if wanted:
                kwargs = {k: v for k, v in kwargs.items() if k in wanted}
            if rule._wrapped_self is None:
                rule._wrapped(self, **kwargs)
            else:
                rule._wrapped(rule._wrapped_self, self, **kwargs)
        self.running = False

    def _declare_made(self, facts: list[Any]) -> None:
        """`KnowledgeEngine.declare` of facts this engine made (no pattern constraints, no
        double-underscore keys: experta's checks would pass)."""
        declare = self.facts.declare_made
        for fact in facts:
            declare(fact)
        if not self.running:
            added, removed = self.matcher.changes(*self.facts.changes)
            self.strategy._update_agenda(self.agenda, added, removed)

    def declare_answers(self, answers: Mapping[str, Answer]) -> None:
        """See `TracingEngine.declare_answers`."""
        self._declare_made([InitialFact(), *(made_fact(_answer_class(qid), {"q": qid, "v": answers[qid]})
                                             for qid in sorted(answers))])

    def declare_derived(self, refs: tuple[str, ...]) -> None:
        """See `TracingEngine.declare_derived`."""
        self._declare_made([made_fact(_derived_class(ref), {"ref": ref}) for ref in refs])

    def declare_tally(self, tally: str, total: int) -> None:
        """See `TracingEngine.declare_tally`."""
        self._declare_made([made_fact(TallyFact, {"t": tally, "v": total})])


def _tally_rhs(tally: str, weights: tuple[tuple[str, int], ...]) -> Callable[..., None]:
    def weigh(engine: TracingEngine) -> None:
        total = sum(w for ref, w in weights if ref in engine.derived)
        engine.declare_tally(tally, total)

    weigh.__name__ = "tally_" + tally
    return weigh


@cache
def engine_class(kb: KnowledgeBase) -> type[TracingEngine]:
    """Compile the knowledge base's rules into an experta engine class (once per process)."""
    return type("CompiledEngine", (FastTracingEngine,), _rule_members(kb))


@cache
def plain_engine_class(kb: KnowledgeBase) -> type[TracingEngine]:
    """The same compiled rules on experta's own engine loop and matcher (the reference the
    equality tests hold `engine_class` to; not used to evaluate cases)."""
    from experta.matchers.rete import ReteMatcher

    return type("PlainCompiledEngine", (TracingEngine,), {**_rule_members(kb), "__matcher__": ReteMatcher})


@cache
def _rule_members(kb: KnowledgeBase) -> dict[str, Any]:
    """The compiled rules and tallies of a knowledge base, as engine class members."""
    top = max(kb.strata.values(), default=0)
    members: dict[str, Any] = {}
    first_reader: dict[str, int] = {}
    for rule in kb.rules:
        stratum = kb.strata[rule.id]
        alternatives: list[list[list[Any]]] = []
        bound: list[str] = []
        for i, cond in enumerate(rule.when):
            name = f"c{i}"
            alternatives.append(_alternatives(kb, cond, name))
            bound.append(name)
            if isinstance(cond, TallyRange):
                if cond.minus:
                    bound.append(name + "_m")
                for t in (cond.tally, cond.minus):
                    if t is not None:
                        first_reader[t] = min(first_reader.get(t, stratum), stratum)
        negations = [NOT(derived_fact(ref)) for ref in rule.unless]
        # One compiled rule per combination of alternatives (a number or the category standing
        # for it); at most one of them can match a case, and all record the same rule.
        for k, choice in enumerate(product(*alternatives)):
            patterns = [p for alt in choice for p in alt] + negations
            if not bound:
                patterns.insert(0, InitialFact())
            # Higher salience fires first: stratum 0 (reads answers only) first, and a rule
            # reading a derived fact, with or without NOT, only once every rule that could
            # assert it is done.
            compiled = ExpertaRule(*patterns, salience=top - stratum)(_rhs(rule, stratum, tuple(bound)))
            members[f"rule_{rule.id.replace('.', '__')}__{k}"] = compiled
    for tally, stratum in first_reader.items():
        # A tally is weighed after every rule that can assert its arguments (a lower stratum
        # than its first reader) and before that reader.
        members["tally_" + tally] = ExpertaRule(InitialFact(), salience=top - stratum + 0.5)(
            _tally_rhs(tally, kb.tally_arguments(tally)))
    return members


class Evaluator:
    """One experta engine for one user session (or one evaluation): never share it."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._engine = engine_class(kb)()
        self._lock = threading.Lock()

    def run(self, case: Case) -> Run:
        """Evaluate one case from a clean engine and return what was derived, with the trace.

        Dates are counted at the case's as_of when `parse_case` has not counted them yet
        (see engine.answer_forms)."""
        return self.run_answers(reasoning_answers(self.kb, case.answers, case.as_of))

    def run_answers(self, answers: Mapping[str, Answer]) -> Run:
        """Evaluate flat answers by question id (already validated)."""
        with self._lock:
            engine = self._engine
            engine.reset()  # the previous case's facts go here, before anything is declared
            engine.firings = []
            engine.derived = set()
            # Declared in sorted order so the order of answers in a file cannot change the run.
            engine.declare_answers(answers)
            engine.run()
            firings = engine.firings
            # What the firings asserted: each firing's action adds its facts to `derived`.
            derived = frozenset(engine.derived)
            engine.firings = []
            engine.derived = set()
        ordered = tuple(sorted(firings, key=lambda f: (f.stratum, f.rule, f.used)))
        return Run(derived=derived, trace=ordered)
