"""Checks of a loaded knowledge base: rules that can never fire, conclusions never reached, and
rules or conclusions that no vignette (worked case) exercises.

Unknown ids and cycles are caught by the loader itself; these checks need the whole picture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.case import parse_case
from engine.errors import CaseError, Problem
from engine.inference import Evaluator
from engine.kb_loader import KnowledgeBase
from engine.knowledge import UNKNOWN, AnswerIn, AnswerRange, Holds, Rule, TallyRange
from engine.vignettes import Vignette


@dataclass
class CheckReport:
    """What `python -m engine check` found."""

    problems: list[Problem] = field(default_factory=list)
    fireable: set[str] = field(default_factory=set)
    reachable: set[str] = field(default_factory=set)


def _answers_satisfiable(kb: KnowledgeBase, rule: Rule) -> str | None:
    """Why no case can meet the rule's answer conditions together, or None."""
    domains: dict[str, set[str] | tuple[float, float]] = {}
    for cond in rule.when:
        if isinstance(cond, (Holds, TallyRange)):
            continue
        q = kb.questions[cond.answer]
        if isinstance(cond, AnswerIn):
            prev = domains.get(q.id)
            options = {o for o in q.allowed_options() if o != UNKNOWN}
            current = prev if isinstance(prev, set) else options
            domains[q.id] = current & set(cond.is_in)
        elif isinstance(cond, AnswerRange):
            low, high = kb.bounds(cond)
            prev_range = domains.get(q.id)
            lo0, hi0 = (prev_range if isinstance(prev_range, tuple)
                        else (float(q.minimum if q.minimum is not None else 0),
                              float(q.maximum if q.maximum is not None else float("inf"))))
            domains[q.id] = (max(lo0, low), min(hi0, high))
    for qid, dom in domains.items():
        if (isinstance(dom, set) and not dom) or (isinstance(dom, tuple) and dom[0] > dom[1]):
            return f"no answer to '{qid}' meets all its conditions"
    for qid in domains:
        for other, allowed in kb.questions[qid].requires.items():
            required = domains.get(other)
            if isinstance(required, set) and not required & set(allowed):
                return f"'{qid}' is only answered when {other} is {' or '.join(allowed)}"
    return None


def check(kb: KnowledgeBase) -> CheckReport:
    """Find rules that can never fire and catalogue entries that no rule can reach."""
    report = CheckReport()
    candidates: dict[str, Rule] = {}
    for rule in kb.rules:
        why = _answers_satisfiable(kb, rule)
        positive = {c.fact for c in rule.when if isinstance(c, Holds)}
        clash = positive & set(rule.unless)
        if clash:
            why = f"needs {sorted(clash)[0]} and its absence"
        if why:
            report.problems.append(Problem(f"rule {rule.id}", f"can never fire: {why}"))
        else:
            candidates[rule.id] = rule
    # Fixed point: a rule can fire once every fact it needs is asserted by a rule that can fire.
    changed = True
    while changed:
        changed = False
        for rid, rule in candidates.items():
            if rid in report.fireable:
                continue
            needs = {c.fact for c in rule.when if isinstance(c, Holds)}
            if needs <= report.reachable:
                report.fireable.add(rid)
                report.reachable.update(rule.then)
                changed = True
    for rid, rule in candidates.items():
        if rid not in report.fireable:
            missing = sorted({c.fact for c in rule.when if isinstance(c, Holds)} - report.reachable)
            report.problems.append(
                Problem(f"rule {rid}", f"can never fire: nothing can assert {', '.join(missing)}"))
    for kind, entries in kb.catalogue.items():
        for ident in entries:
            if f"{kind}.{ident}" not in report.reachable:
                report.problems.append(Problem(f"{kind} {ident}", "no rule that can fire reaches it"))
    return report


@dataclass
class Coverage:
    """What the vignettes exercise: the rules they fire and the facts they produce."""

    problems: list[Problem] = field(default_factory=list)
    vignettes: int = 0
    fired: set[str] = field(default_factory=set)
    produced: set[str] = field(default_factory=set)


def vignette_coverage(kb: KnowledgeBase, vignettes: Iterable[Vignette]) -> Coverage:
    """Run every vignette through the engine; report rules none fires and entries none produces.

    A rule that can fire in principle but that no worked case fires is untested knowledge, and
    a conclusion no vignette reaches has never been shown to a trainee: both are problems.
    """
    coverage = Coverage()
    evaluator = Evaluator(kb)
    for vignette in vignettes:
        coverage.vignettes += 1
        try:
            case = parse_case(vignette.case, kb)
        except CaseError as exc:
            coverage.problems.extend(Problem(f"vignette {vignette.id}", f"invalid case: {p}")
                                     for p in exc.problems)
            continue
        run = evaluator.run(case)
        coverage.fired.update(firing.rule for firing in run.trace)
        coverage.produced.update(run.derived)
    for rule in kb.rules:
        if rule.id not in coverage.fired:
            coverage.problems.append(Problem(f"rule {rule.id}", "no vignette fires it"))
    for kind, entries in kb.catalogue.items():
        for ident in entries:
            if f"{kind}.{ident}" not in coverage.produced:
                coverage.problems.append(Problem(f"{kind} {ident}", "no vignette produces it"))
    return coverage
