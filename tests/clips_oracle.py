"""The knowledge base's rules translated into CLIPS, an independent engine, as an oracle.

Translated from the rule data (never from the experta classes or the generated evaluator):

- an answer is `(answer (q "id") (v value))`, a derived fact `(derived (ref "kind.id"))`, a
  weighed tally `(tally (t "id") (v n))`;
- parameters are CLIPS globals (`?*p-persistence_weeks*`), so ranges and weights read them
  by name; `at_least`/`at_most` are inclusive, `below` exclusive;
- a range on a number that a category answers for is an `or`: the number itself, or (the
  number not given) the category's option whose whole span, asserted as a `span` fact from
  the question data, lies inside the range;
- `unless` is `not`; strata are saliences (a higher stratum fires later), and each tally is
  weighed by a rule of its own, between the strata that assert its arguments and its first
  reader, summing the `argument` facts (weights as parameters) whose ref was derived.

One CLIPS call per case (a deffunction that resets, asserts the answers and runs), returning the fired
rules and the derived facts: clipspy keeps Python objects of retracted facts alive when facts
are asserted and read one call at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import clips

from engine.case import Answer
from engine.kb_loader import KnowledgeBase
from engine.knowledge import AnswerIn, AnswerRange, Argument, Holds, Rule, TallyRange

INF = 10**9  # stands for an open end of a span (CLIPS has no integer infinity)


def _str(value: str) -> str:
    # Ids, options and refs are validated against ^[a-z][a-z0-9_.]*$ at load: no quoting needed.
    return f'"{value}"'


def _param(value: int | str) -> str:
    return f"?*p-{value}*" if isinstance(value, str) else str(value)


def _range_tests(expr: str, cond: AnswerRange | TallyRange) -> list[str]:
    tests = []
    if cond.at_least is not None:
        tests.append(f"(>= {expr} {_param(cond.at_least)})")
    if cond.at_most is not None:
        tests.append(f"(<= {expr} {_param(cond.at_most)})")
    if cond.below is not None:
        tests.append(f"(< {expr} {_param(cond.below)})")
    return tests


def _all(tests: list[str]) -> str:
    return tests[0] if len(tests) == 1 else f"(and {' '.join(tests)})"


class Translation:
    """The CLIPS constructs for one knowledge base, and what tallies it weighs."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.top = max(kb.strata.values(), default=0)
        self.first_reader: dict[str, int] = {}
        self.var = 0

    def fresh(self) -> str:
        self.var += 1
        return f"?x{self.var}"

    def condition(self, cond: AnswerIn | AnswerRange | Holds | TallyRange, stratum: int) -> str:
        if isinstance(cond, Holds):
            return f"(derived (ref {_str(cond.fact)}))"
        if isinstance(cond, AnswerIn):
            return f"(answer (q {_str(cond.answer)}) (v {'|'.join(_str(o) for o in cond.is_in)}))"
        if isinstance(cond, TallyRange):
            v = self.fresh()
            parts = [f"(tally (t {_str(cond.tally)}) (v {v}))"]
            expr = v
            for t in (cond.tally, cond.minus):
                if t is not None:
                    self.first_reader[t] = min(self.first_reader.get(t, stratum), stratum)
            if cond.minus is not None:
                m = self.fresh()
                parts.append(f"(tally (t {_str(cond.minus)}) (v {m}))")
                expr = f"(- {v} {m})"
            parts.append(f"(test {_all(_range_tests(expr, cond))})")
            return " ".join(parts)
        v = self.fresh()
        number = (f"(answer (q {_str(cond.answer)}) (v {v}&:(integerp {v})"
                  + "".join(f"&:{t}" for t in _range_tests(v, cond)) + "))")
        category = self.kb.category_of(cond.answer)
        if category is None:
            return number
        c, lo, hi = self.fresh(), self.fresh(), self.fresh()
        inside = [f"(>= {lo} {_param(cond.at_least)})" if cond.at_least is not None else None,
                  f"(<= {hi} {_param(cond.at_most)})" if cond.at_most is not None else None,
                  f"(< {hi} {_param(cond.below)})" if cond.below is not None else None]
        by_category = (f"(and (answer (q {_str(category.id)}) (v {c})) "
                       f"(span (q {_str(category.id)}) (option {c}) (low {lo}) (high {hi})) "
                       f"(test {_all([t for t in inside if t])}) "
                       f"(not (answer (q {_str(cond.answer)}))))")
        return f"(or {number} {by_category})"

    def rule(self, rule: Rule) -> str:
        stratum = self.kb.strata[rule.id]
        lhs = [self.condition(c, stratum) for c in rule.when]
        lhs += [f"(not (derived (ref {_str(ref)})))" for ref in rule.unless]
        asserts = " ".join(f"(assert (derived (ref {_str(ref)})))" for ref in rule.then)
        return (f"(defrule {_name(rule.id)} (declare (salience {2 * (self.top - stratum)}))\n"
                f"  {' '.join(lhs)}\n  =>\n"
                f"  (bind ?*fired* (create$ ?*fired* {_str(rule.id)})) {asserts})")

    def tally(self, tally: str, stratum: int) -> str:
        # After every stratum below its first reader, before that reader.
        return (f"(defrule tally-{tally} (declare (salience {2 * (self.top - stratum) + 1}))\n"
                f"  =>\n  (bind ?s 0)\n"
                f"  (do-for-all-facts ((?a argument) (?d derived))"
                f" (and (eq ?a:tally {_str(tally)}) (eq ?a:ref ?d:ref))"
                f" (bind ?s (+ ?s ?a:weight)))\n"
                f"  (assert (tally (t {_str(tally)}) (v ?s))))")

    def constructs(self) -> list[str]:
        kb = self.kb
        out = [
            "(deftemplate answer (slot q) (slot v))",
            "(deftemplate derived (slot ref))",
            "(deftemplate tally (slot t) (slot v))",
            "(deftemplate argument (slot ref) (slot tally) (slot weight))",
            "(deftemplate span (slot q) (slot option) (slot low) (slot high))",
            "(defglobal ?*fired* = (create$))",
            # The one call per case: answers as alternating question ids and values.
            "(deffunction evaluate-case ($?qv)\n"
            "  (reset)\n"
            "  (loop-for-count (?i 1 (div (length$ ?qv) 2))\n"
            "    (assert (answer (q (nth$ (- (* 2 ?i) 1) ?qv)) (v (nth$ (* 2 ?i) ?qv)))))\n"
            "  (run)\n"
            "  (bind ?out ?*fired*)\n"
            "  (do-for-all-facts ((?d derived)) TRUE (bind ?out (create$ ?out DERIVED ?d:ref)))\n"
            "  ?out)",
        ]
        out += [f"(defglobal ?*p-{p.id}* = {p.value})" for p in kb.parameters.values()]
        rules = [self.rule(r) for r in kb.rules]
        facts = []
        for ident, entry in kb.catalogue.get("argument", {}).items():
            if isinstance(entry, Argument):
                facts.append(f"(argument (ref {_str('argument.' + ident)}) (tally {_str(entry.tally)})"
                             f" (weight {_param(entry.weight)}))")
        for q in kb.questions.values():
            if q.kind == "choice" and q.answers_for is not None:
                for option in q.answers_for.spans:
                    lo, hi = kb.span(q, option)
                    low = -INF if lo == float("-inf") else int(lo)
                    high = INF if hi == float("inf") else int(hi)
                    facts.append(f"(span (q {_str(q.id)}) (option {_str(option)}) (low {low}) (high {high}))")
        if facts:
            out.append("(deffacts knowledge\n  " + "\n  ".join(facts) + ")")
        out += rules
        out += [self.tally(t, s) for t, s in sorted(self.first_reader.items())]
        return out


def _name(rule_id: str) -> str:
    return "rule-" + rule_id


class ClipsEvaluator:
    """The knowledge base in one CLIPS environment: answers -> (derived facts, fired rules)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.env = clips.Environment()
        self.constructs = Translation(kb).constructs()
        for construct in self.constructs:
            self.env.build(construct)
        self._evaluate = self.env.find_function("evaluate-case")

    def __call__(self, answers: Mapping[str, Answer]) -> tuple[frozenset[str], tuple[str, ...]]:
        """Evaluate one case: the derived facts and the fired rules (in firing order)."""
        args: list[Any] = []
        for qid in sorted(answers):
            value = answers[qid]
            args += [qid, value if isinstance(value, int) else str(value)]
        return _split(self._evaluate(*args))


def _split(out: Any) -> tuple[frozenset[str], tuple[str, ...]]:
    fired: list[str] = []
    derived: list[str] = []
    items = list(out)
    i = 0
    while i < len(items):
        if isinstance(items[i], clips.Symbol) and str(items[i]) == "DERIVED":
            derived.append(str(items[i + 1]))
            i += 2
        else:
            fired.append(str(items[i]))
            i += 1
    return frozenset(derived), tuple(fired)
