"""Proof that a kind of conclusion (the spectrum position) is a partition of the cases.

Every case must get exactly one conclusion of the kind. The rules that assert it (the decision
rules) read a few derived facts and tallies, and every combination of answers reaches the
decision as one point of those inputs: a truth value for each fact read and a weight for each
tally. So the proof enumerates every point of the decision's inputs (all of them, reachable or
not), leaving out only what the rules themselves exclude (a fact every asserter of which has
another fact under `unless` never holds together with it; an argument that holds adds at least
its weight to its tally), and evaluates the decision rules at each. A point with none or several
conclusions is then realised as answers by a search that branches only on questions read by
rules still undecided for that point, and confirmed with the generated evaluator: a violation
is reported as the answers that give it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

from engine.case import Answer
from engine.generated import generated_evaluator
from engine.kb_loader import KnowledgeBase
from engine.knowledge import Holds, Rule, TallyRange
from engine.whatif import Truth, _readers, cone, domain, three_valued

Point = tuple[frozenset[str], dict[str, int]]  # facts that hold, weight of each tally


@dataclass
class PartitionReport:
    """What the proof found: input points with no or several conclusions, and what it covered."""

    kind: str
    points: int = 0
    violations: list[tuple[Point, list[str], dict[str, Answer] | None]] = field(default_factory=list)


def _decision_rules(kb: KnowledgeBase, kind: str) -> list[Rule]:
    return [r for r in kb.rules if any(ref.partition(".")[0] == kind for ref in r.then)]


def _exclusive(kb: KnowledgeBase, facts: list[str]) -> set[frozenset[str]]:
    """Pairs of facts that never hold together: every rule asserting one has the other under unless."""
    out = set()
    for a in facts:
        asserters = kb.asserters(a)
        for x in facts:
            if a != x and asserters and all(x in r.unless for r in asserters):
                out.add(frozenset((a, x)))
    return out


def _holds(kb: KnowledgeBase, rule: Rule, point: Point) -> bool:
    facts, tallies = point
    for cond in rule.when:
        if isinstance(cond, Holds):
            if cond.fact not in facts:
                return False
        elif isinstance(cond, TallyRange):
            value = tallies[cond.tally] - (tallies[cond.minus] if cond.minus else 0)
            low, high = kb.bounds(cond)
            if not low <= value <= high:
                return False
        else:  # decision rules that read answers directly are not supported by this proof
            raise ValueError(f"decision rule {rule.id} reads an answer")
    return not any(ref in facts for ref in rule.unless)


def _realise(kb: KnowledgeBase, kind: str, point: Point, node_limit: int) -> dict[str, Answer] | None:
    """Answers that reach the decision at this point, found by a search that prunes every branch
    where three-valued evaluation already contradicts it; None if none within the limit."""
    rules, questions = cone(kb, kind)
    want, weights = point
    inputs = {c.fact for r in _decision_rules(kb, kind) for c in r.when if isinstance(c, Holds)}
    inputs |= {ref for r in _decision_rules(kb, kind) for ref in r.unless}
    readers = _readers(kb)
    evaluate = generated_evaluator(kb)
    nodes = 0

    def tally_bounds(partial_facts: dict[str, Truth], tally: str) -> tuple[int, int]:
        low = high = 0
        for ref, w in kb.tally_arguments(tally):
            t = partial_facts.get(ref, Truth.F)
            low += w if t is Truth.T else 0
            high += w if t is not Truth.F else 0
        return low, high

    def search(fixed: dict[str, Answer | None]) -> dict[str, Answer] | None:
        nonlocal nodes
        nodes += 1
        if nodes > node_limit:
            return None
        answers = {q: v for q, v in fixed.items() if v is not None}
        closed = frozenset(q for q, v in fixed.items() if v is None)
        partial = three_valued(kb, rules, answers, closed)
        for ref in inputs:
            t = partial.fact(ref)
            if (t is Truth.T and ref not in want) or (t is Truth.F and ref in want):
                return None
        for tally, weight in weights.items():
            low, high = tally_bounds(partial.facts, tally)
            if not low <= weight <= high:
                return None
        free = [q for q in questions if q not in fixed]
        branch = next((q for q in free if any(
            partial.rules.get(rid) is Truth.U for rid in readers.get(q, ()))), None)
        if branch is None:
            derived = evaluate(answers)[0]
            reached = ({r for r in inputs if r in derived} == set(want) and all(
                sum(w for ref, w in kb.tally_arguments(t) if ref in derived) == v
                for t, v in weights.items()))
            return answers if reached else None
        for value in [None, *domain(kb, branch)]:  # the fewest answers first
            q = kb.questions[branch]
            if value is not None and not q.requirements_met(answers):
                continue
            found = search({**fixed, branch: value})
            if found is not None:
                return found
        return None

    return search({})


def prove_partition(kb: KnowledgeBase, kind: str = "spectrum", node_limit: int = 5_000,
                    realise: int = 3) -> PartitionReport:
    """Every point of the decision's inputs gets exactly one `kind` conclusion, or the violations."""
    decision = _decision_rules(kb, kind)
    facts = sorted({c.fact for r in decision for c in r.when if isinstance(c, Holds)}
                   | {ref for r in decision for ref in r.unless})
    tallies = sorted({t for r in decision for c in r.when if isinstance(c, TallyRange)
                      for t in (c.tally, c.minus) if t is not None})
    exclusive = _exclusive(kb, facts)
    ranges = {t: range(sum(w for _, w in kb.tally_arguments(t)) + 1) for t in tallies}
    report = PartitionReport(kind=kind)
    for truth in product((False, True), repeat=len(facts)):
        held = frozenset(f for f, on in zip(facts, truth, strict=True) if on)
        if any(pair <= held for pair in exclusive):
            continue
        floor = {t: sum(w for ref, w in kb.tally_arguments(t) if ref in held) for t in tallies}
        for values in product(*(ranges[t] for t in tallies)):
            weights = dict(zip(tallies, values, strict=True))
            if any(weights[t] < floor[t] for t in tallies):
                continue
            report.points += 1
            point = (held, weights)
            got = sorted(r.then[0] for r in decision if _holds(kb, r, point))
            if len(set(got)) != 1:
                # Realise the first few as answers (the search costs more than the proof).
                answers = (_realise(kb, kind, point, node_limit)
                           if len(report.violations) < realise else None)
                report.violations.append((point, sorted(set(got)), answers))
    return report
