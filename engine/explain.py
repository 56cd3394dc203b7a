"""Explanations of one assessment: how, why not, what would change it, robustness, next questions.

How comes from the evaluation's own experta trace (a proof tree); why not from the rule data
evaluated on the case (`engine.conditions`); the what-ifs, robustness and next questions
from the generated evaluator (`engine.whatif`). Property tests keep all three in agreement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from engine.case import Answer, Case
from engine.conditions import ConditionState, Status, condition_states, tally_value
from engine.inference import Evaluator, Run
from engine.kb_loader import KnowledgeBase
from engine.knowledge import Position, TallyRange
from engine.report import QuestionOut, Report, TracedStep
from engine.whatif import (
    CONCLUSION_KINDS,
    Change,
    Partial,
    Robustness,
    Sweeper,
    Truth,
    Variant,
    evaluate_partially,
    next_questions,
    position_search,
    robustness,
)

# Kinds whose conclusions get a "how"; "why not" is asked of the formulation-level kinds.
HOW_KINDS = ("spectrum", "driver", "formulation", "origin", "recommendation", "caution",
             "reflection", "measure", "interpretation", "inconsistency")
WHAT_IF_KINDS = {"spectrum": "spectrum", "drivers": "driver", "formulations": "formulation"}


def _label(kb: KnowledgeBase, ref: str) -> str:
    kind, _, ident = ref.partition(".")
    entry = kb.catalogue.get(kind, {}).get(ident)
    return entry.label if entry else ref


def answer_text(kb: KnowledgeBase, qid: str, value: Answer | None) -> str:
    """An answer in words: the option's label, the number, or 'unanswered'."""
    if value is None:
        return "unanswered"
    q = kb.questions[qid]
    return q.option_labels.get(str(value), str(value))


def used_text(kb: KnowledgeBase, used: str) -> str:
    """A fact a rule used, in words: 'prompt: answer', a finding's label, or 'not: label'."""
    if used.startswith("not "):
        return f"not: {_label(kb, used[4:])}"
    tally = tally_used(used)
    if tally is not None:
        return f"weighing {kb.tallies[tally].label.lower()}: {used.partition(' = ')[2]}"
    qid, sep, value = used.partition(" = ")
    if sep and qid in kb.questions:
        q = kb.questions[qid]
        shown: Answer = int(value) if q.kind == "integer" else value
        return f"{q.prompt} {answer_text(kb, qid, shown)}"
    return _label(kb, used)


def weighing(kb: KnowledgeBase, tally: str, asserted: set[str] | frozenset[str]) -> dict[str, Any]:
    """How one tally was weighed: its label, total and the asserted arguments with their weights."""
    arguments = [{"id": ref, "label": _label(kb, ref), "weight": w}
                 for ref, w in kb.tally_arguments(tally) if ref in asserted]
    return {"tally": tally, "label": kb.tallies[tally].label,
            "total": sum(a["weight"] for a in arguments), "arguments": arguments}


def tally_used(used: str) -> str | None:
    """The tally id of a 'tally X = n' fact a rule used, else None."""
    if used.startswith("tally ") and " = " in used:
        return used[len("tally "):].partition(" = ")[0]
    return None


def how(kb: KnowledgeBase, trace: Sequence[TracedStep], ref: str) -> dict[str, Any]:
    """The proof of a reached conclusion: the firings that asserted it, then (deeper) the
    firings behind each derived fact they used, and behind each argument a weighing counted.
    Works on a run's trace or a report's."""
    by_fact: dict[str, list[int]] = defaultdict(list)
    for i, firing in enumerate(trace):
        for asserted in firing.asserted:
            by_fact[asserted].append(i)
    asserted_all = set(by_fact)
    rules = {r.id: r for r in kb.rules}
    steps: list[dict[str, Any]] = []
    shown: set[int] = set()

    def visit(fact: str, depth: int) -> None:
        for i in by_fact.get(fact, []):
            if i in shown:
                continue
            shown.add(i)
            firing = trace[i]
            rule = rules[firing.rule]
            tallies = [t for t in (tally_used(u) for u in firing.used) if t is not None]
            step: dict[str, Any] = {
                "rule": rule.id, "title": rule.title, "explanation": rule.explanation,
                "used": list(firing.used), "used_text": [used_text(kb, u) for u in firing.used],
                "asserted": list(firing.asserted), "source": rule.source.model_dump(), "depth": depth,
            }
            if tallies:
                step["weighing"] = [weighing(kb, t, asserted_all) for t in tallies]
            steps.append(step)
            for used in firing.used:
                tally = tally_used(used)
                if tally is not None:
                    for arg, _ in kb.tally_arguments(tally):
                        visit(arg, depth + 1)
                elif " = " not in used and not used.startswith("not "):
                    visit(used, depth + 1)

    visit(ref, 0)
    return {"label": _label(kb, ref), "steps": steps}


def _condition(kb: KnowledgeBase, state: ConditionState, case: Case, run: Run, depth: int,
               open_facts: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"text": state.text, "status": state.status.value}
    if state.question is not None:
        q = kb.questions[state.question]
        out["label"] = q.prompt
        out["value"] = answer_text(kb, q.id, case.answers.get(q.id))
    elif state.tally is not None:
        tally = kb.tallies[state.tally]
        out["label"] = f"weighing: {tally.label.lower()}"
        out["value"] = str(tally_value(kb, TallyRange(tally=state.tally, at_least=0), run.derived))
    elif state.fact is not None:
        out["label"] = ("not: " if state.negated else "") + _label(kb, state.fact)
        if state.status is Status.UNMET and state.negated:
            out["because"] = sorted({f.rule for f in run.trace if state.fact in f.asserted})
        elif state.status is not Status.MET and not state.negated and depth < 2:
            out["unmet_because"] = why_not(kb, case, run, state.fact, depth + 1, open_facts)
    return out


def open_facts_of(partial: Partial) -> frozenset[str]:
    """Derived facts that answers to the open questions could still assert (three-valued)."""
    return frozenset(ref for ref, truth in partial.facts.items() if truth is Truth.U)


def why_not(kb: KnowledgeBase, case: Case, run: Run, ref: str, depth: int = 0,
            open_facts: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """For a conclusion not reached: each rule that would reach it, with every condition met,
    unmet, or unknown (an unanswered question, or a fact open questions could still give).
    Derived facts not met are explained two levels down."""
    if open_facts is None:
        open_facts = open_facts_of(evaluate_partially(kb, case.answers))
    out = []
    for rule in kb.asserters(ref):
        states = condition_states(kb, rule, case.answers, run.derived, open_facts)
        out.append({
            "rule": rule.id, "title": rule.title, "explanation": rule.explanation,
            "conditions": [_condition(kb, s, case, run, depth, open_facts) for s in states],
        })
    return out


def _variant(kb: KnowledgeBase, kind: str, variant: Variant) -> dict[str, Any]:
    def change(c: Change) -> dict[str, Any]:
        return {"question": c.question, "prompt": kb.questions[c.question].prompt,
                "from": c.before, "to": c.after,
                "from_text": answer_text(kb, c.question, c.before),
                "to_text": answer_text(kb, c.question, c.after)}

    ids = sorted(variant.conclusions[kind])
    result = ids[0] if kind == "spectrum" and ids else ", ".join(ids) or "none"
    return {"changes": [change(c) for c in variant.changes], "result": result}


def explanations(kb: KnowledgeBase, case: Case, run: Run, report: Report,
                 pairs: bool = False) -> tuple[dict[str, Any], list[QuestionOut]]:
    """All explanations of one assessment, JSON-ready, and the ranked open questions."""
    reached = sorted(r for r in run.derived if r.partition(".")[0] in HOW_KINDS)
    partial = evaluate_partially(kb, case.answers)
    open_facts = open_facts_of(partial)
    why = {}
    against = {}
    for kind in CONCLUSION_KINDS:
        for ident, entry in kb.catalogue[kind].items():
            ref = f"{kind}.{ident}"
            if ref in run.derived:
                continue
            why[ref] = why_not(kb, case, run, ref, open_facts=open_facts)
            if isinstance(entry, Position):
                evidence = (*report.spectrum.evidence_for, *report.spectrum.against)
                against[ref] = [e.model_dump() for e in evidence if e.direction in entry.evidence_against]
    sweeper = Sweeper(kb, case.answers)
    what = {name: [_variant(kb, kind, v) for v in sweeper.what_would_change(kind, pairs=pairs)]
            for name, kind in WHAT_IF_KINDS.items()}
    robust = robustness(kb, sweeper)
    questions = [
        QuestionOut(id=qid, prompt=kb.questions[qid].wording(case.subject), could_change=could,
                    needed=bool(could))
        for qid, could in next_questions(kb, case.answers, partial)
    ]
    return {
        "how": {ref: how(kb, run.trace, ref) for ref in reached},
        "why_not": why,
        "evidence_against": against,
        "what_would_change": what,
        "robustness": _robustness_json(robust, report),
    }, questions


def _robustness_json(robust: Robustness, report: Report) -> dict[str, Any]:
    return {"stable": robust.stable and report.completeness.complete,
            "robust": robust.stable, "exhaustive": robust.exhaustive,
            "reachable_positions": list(robust.reachable), "pivotal": list(robust.pivotal),
            "unassessed": [m.id for m in report.completeness.unassessed]}


def add_open_status(report: Report, case: Case, evaluator: Evaluator) -> Report:
    """The report with only what says how settled it is: the ranked open questions and the
    robustness of the position, its pivotal questions only where they are what is still open
    (assessment complete, position not robust). What the intake table reads, without the how,
    why not and what-if explanations."""
    kb = evaluator.kb
    partial = evaluate_partially(kb, case.answers)
    sweeper = Sweeper(kb, case.answers)
    searched = position_search(kb, sweeper.answers, sweeper.base["spectrum"])
    robust_now = len(searched[0]) == 1 and searched[1]
    robust = robustness(kb, sweeper, pivotal=report.completeness.complete and not robust_now,
                        searched=searched)
    questions = [
        QuestionOut(id=qid, prompt=kb.questions[qid].wording(case.subject), could_change=could,
                    needed=bool(could))
        for qid, could in next_questions(kb, case.answers, partial)
    ]
    return report.model_copy(update={"explanations": {"robustness": _robustness_json(robust, report)},
                                     "questions": questions})


def add_explanations(report: Report, case: Case, evaluator: Evaluator, run: Run | None = None,
                     pairs: bool = False) -> Report:
    """The report with its open questions and explanations filled in."""
    run = run or evaluator.run(case)
    detail, questions = explanations(evaluator.kb, case, run, report, pairs=pairs)
    return report.model_copy(update={"explanations": detail, "questions": questions})


def resolve(kb: KnowledgeBase, name: str) -> str | None:
    """A conclusion ref (spectrum, driver, formulation, origin) from 'kind.id' or a bare id
    ('adaptive', 'alexithymia'), or None."""
    if "." in name:
        kind, _, ident = name.partition(".")
        return name if kind in CONCLUSION_KINDS and ident in kb.catalogue[kind] else None
    matches = [f"{k}.{name}" for k in CONCLUSION_KINDS if name in kb.catalogue[k]]
    return matches[0] if len(matches) == 1 else None
