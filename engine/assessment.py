"""The one entry point: assess(case) -> Report (reset, declare, run, collect)."""

from __future__ import annotations

from datetime import date

from engine.answer_forms import for_reasoning
from engine.case import Case
from engine.explain import add_explanations
from engine.inference import Evaluator
from engine.kb_loader import KnowledgeBase, default_knowledge_base
from engine.report import Report, build_report


def new_evaluator(kb: KnowledgeBase | None = None) -> Evaluator:
    """A fresh evaluator (its own experta engine) for one session or one evaluation."""
    return Evaluator(kb or default_knowledge_base())


def assess(case: Case, evaluator: Evaluator | None = None, explain: bool = False,
           pairs: bool = False, as_of: date | None = None) -> Report:
    """Assess one validated case and return the report.

    Pass the session's own evaluator to reuse its engine; without one, a new engine is
    built for this evaluation alone. With `explain`, the report also carries the ranked open
    questions and the explanations (how, why not, what would change it, robustness); `pairs`
    adds the pairs of answers that would change a conclusion together (slower). `as_of` is the
    assessment date at which answers given as dates are counted (default: the case's own
    `as_of`), so an assessment "as of" a date is reproducible.
    """
    ev = evaluator or new_evaluator()
    case = for_reasoning(ev.kb, case, as_of)
    run = ev.run(case)
    report = build_report(ev.kb, case, run)
    if explain:
        report = add_explanations(report, case, ev, run, pairs=pairs)
    return report
