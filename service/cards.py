"""CDS Hooks cards from one report: summary, indicator, Markdown detail, source, override reasons.

All wording comes from the report (labels, titles, texts, prompts) and the knowledge base's
catalogue labels, never ids. The Markdown detail is one function, `detail_markdown(report)`,
so the shared formulation card of the reports can replace its body in one place.
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from engine import Case, KnowledgeBase, Report, assess, default_knowledge_base
from engine.answer_forms import for_reasoning
from engine.formulation import card_markdown, formulation_card
from engine.inference import Evaluator
from engine.report import QuestionOut
from engine.whatif import Sweeper, next_questions, robustness

LEVELS = ("info", "warning", "critical")  # CDS Hooks indicators, in order of increasing urgency
SUMMARY_MAX = 139  # the spec: a summary of fewer than 140 characters
AGREE_LABEL = "Record my agreement with this assessment"
_OVERRIDE_REASONS = Path(__file__).with_name("override_reasons.json")


def report_for_cards(case: Case, evaluator: Evaluator) -> Report:
    """The report the cards are built from: the assessment with its ranked open questions.

    The cards read the conclusions, the trace and the open questions, not the what-ifs and the
    robustness search that make `assess(explain=True)` several times slower; the open questions
    come from the same engine function, so they are the list `explain=True` gives (tested).
    When the card needs the full explanations, this is the one place to ask for them.
    """
    report = assess(case, evaluator)
    kb = evaluator.kb
    reasoned = for_reasoning(kb, case, None)
    questions = [QuestionOut(id=qid, prompt=kb.questions[qid].wording(case.subject), could_change=could,
                             needed=bool(could))
                 for qid, could in next_questions(kb, reasoned.answers)]
    # The card says whether the position is stable: the robustness search, without the what-ifs.
    robust = robustness(kb, Sweeper(kb, reasoned.answers))
    stable = {"stable": robust.stable and report.completeness.complete,
              "reachable_positions": list(robust.reachable)}
    return report.model_copy(update={"questions": questions, "explanations": {"robustness": stable}})


def indicator(report: Report) -> str:
    """The card's indicator: the most urgent caution level, info when there is none."""
    return max((c.level for c in report.cautions), key=LEVELS.index, default="info")


def _topic(kb: KnowledgeBase) -> str:
    """What the knowledge base is about: its title up to ' - ' (the whole title otherwise)."""
    return kb.meta.title.partition(" - ")[0].strip() or kb.meta.title


def _fit(text: str, limit: int = SUMMARY_MAX) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ;,:")
    return cut + "…"


def summary(report: Report, kb: KnowledgeBase | None = None) -> str:
    """One line under 140 characters: the topic, the position and the most urgent caution."""
    kb = kb or default_knowledge_base()
    head = f"{_topic(kb)}: {report.spectrum.label}"
    if report.cautions:
        with_caution = f"{head}. {report.cautions[0].title}"
        if len(with_caution) <= SUMMARY_MAX:
            return with_caution
    return _fit(head)


def detail_markdown(report: Report, kb: KnowledgeBase | None = None) -> str:
    """The card's detail in GitHub-flavoured Markdown: the shared formulation card
    (`engine.formulation`), the same summary the app and the reports show."""
    kb = kb or default_knowledge_base()
    return card_markdown(formulation_card(kb, report))


@cache
def _override_reason_data() -> tuple[tuple[str, str, str], ...]:
    data = json.loads(_OVERRIDE_REASONS.read_text(encoding="utf-8"))
    return tuple((data["system"], c["code"], c["display"]) for c in data["concepts"])


def override_reasons() -> list[dict[str, str]]:
    """HL7's non-adherence reason categories as CDS Hooks Codings (each with its display)."""
    return [{"system": s, "code": c, "display": d} for s, c, d in _override_reason_data()]


def source_label(kb: KnowledgeBase) -> str:
    """The card's source label: the knowledge base and its version."""
    return f"{kb.meta.title} {kb.meta.version}"


def build_cards(report: Report, kb: KnowledgeBase, source_url: str) -> list[dict[str, Any]]:
    """The cards for one assessed case: one assessment card with a fresh uuid.

    Its one suggestion (no actions) lets the clinician record agreement, which the EHR reports
    to the feedback endpoint as `accepted`; dismissing it with a reason is `overridden`.
    """
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(report, kb),
        "indicator": indicator(report),
        "detail": detail_markdown(report, kb),
        "source": {"label": source_label(kb), "url": source_url},
        "suggestions": [{"label": AGREE_LABEL, "uuid": str(uuid.uuid4())}],
        "selectionBehavior": "at-most-one",
        "overrideReasons": override_reasons(),
    }
    return [card]
