"""A client over time: the position per assessment, what changed between two, the named shift,
and the reassessments that are due. They read the stored summaries (store/summary.py), so a
client with many assessments opens fast.

All the words come from the stored reports and the knowledge base (labels, rule titles and the
source's quotes); the spectrum's order is the `rank` of each position in
`knowledge_base/conclusions.yaml` (adaptive 0, at risk 1, maladaptive 2; undetermined unranked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from engine import KnowledgeBase, default_knowledge_base
from engine.case import ANSWER_SECTIONS
from engine.knowledge import Position
from store.cases import AssessmentInfo, ClientRecord
from store.db import Store
from store.models import Assessment, Client, Reassessment


@dataclass(frozen=True)
class TimelinePoint:
    """One assessment's place on the spectrum."""

    version: int
    as_of: date
    position: str
    label: str
    rank: int | None


@dataclass(frozen=True)
class AnswerChange:
    """One answer that differs between two assessments."""

    question: str
    prompt: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ConclusionChange:
    """A conclusion present in one assessment and not in the other."""

    kind: str
    id: str
    label: str
    change: str  # "added" or "removed"


@dataclass(frozen=True)
class Shift:
    """The position moved along the spectrum, with the rule and the quote that explain it."""

    before: str
    after: str
    before_label: str
    after_label: str
    direction: str  # "towards maladaptive" or "towards adaptive"
    rule: str
    rule_title: str
    explanation: str
    quote: str
    section: str

    def sentence(self) -> str:
        """The shift in plain words."""
        return f"Shifted from {self.before_label} to {self.after_label}"


@dataclass(frozen=True)
class Diff:
    """What changed from one assessment to a later one."""

    before: int
    after: int
    answers: list[AnswerChange]
    conclusions: list[ConclusionChange]
    position_before: str
    position_after: str
    shift: Shift | None


@dataclass(frozen=True)
class Due:
    """A reassessment the plan of a client's latest assessment asks for."""

    code: str
    version: int
    as_of: date
    due_on: date
    reason: str
    overdue: bool


def _rank(kb: KnowledgeBase, position: str) -> int | None:
    entry = kb.catalogue.get("spectrum", {}).get(position)
    return entry.rank if isinstance(entry, Position) else None


def timeline(record: ClientRecord, kb: KnowledgeBase | None = None) -> list[TimelinePoint]:
    """The position of each assessment, oldest first."""
    kb = kb or default_knowledge_base()
    return [TimelinePoint(version=a.version, as_of=a.as_of, position=a.position,
                          label=a.label, rank=_rank(kb, a.position))
            for a in record.assessments]


def _answers(case: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section in ANSWER_SECTIONS:
        flat.update(case.get(section) or {})
    if "subject" in case:
        flat["subject"] = case["subject"]
    return flat


def shift_between(a: AssessmentInfo, b: AssessmentInfo, kb: KnowledgeBase | None = None) -> Shift | None:
    """The shift from a to b when both positions are ranked and the rank differs."""
    kb = kb or default_knowledge_base()
    ra, rb = _rank(kb, a.position), _rank(kb, b.position)
    if ra is None or rb is None or ra == rb:
        return None
    step = b.summary.get("step") or {}
    return Shift(before=a.position, after=b.position, before_label=a.label, after_label=b.label,
                 direction="towards maladaptive" if rb > ra else "towards adaptive",
                 rule=str(step.get("rule", "")), rule_title=str(step.get("title", "")),
                 explanation=str(step.get("explanation", "")), quote=str(step.get("quote", "")),
                 section=str(step.get("section", "")))


def diff(a: AssessmentInfo, b: AssessmentInfo, kb: KnowledgeBase | None = None) -> Diff:
    """The answers and conclusions that changed from assessment a to assessment b."""
    kb = kb or default_knowledge_base()
    before, after = _answers(a.answers), _answers(b.answers)
    changes = []
    for q in sorted(set(before) | set(after)):
        if before.get(q) != after.get(q):
            question = kb.questions.get(q)
            changes.append(AnswerChange(question=q, prompt=question.prompt if question else q,
                                        before=before.get(q), after=after.get(q)))
    ca = {(k, i): label for k, i, label in a.summary["conclusions"]}
    cb = {(k, i): label for k, i, label in b.summary["conclusions"]}
    concl = [ConclusionChange(kind=k, id=i, label=cb[(k, i)], change="added")
             for (k, i) in sorted(set(cb) - set(ca))]
    concl += [ConclusionChange(kind=k, id=i, label=ca[(k, i)], change="removed")
              for (k, i) in sorted(set(ca) - set(cb))]
    return Diff(before=a.version, after=b.version, answers=changes, conclusions=concl,
                position_before=a.position, position_after=b.position, shift=shift_between(a, b, kb))


def shifts(record: ClientRecord, kb: KnowledgeBase | None = None) -> list[tuple[int, Shift]]:
    """Every shift between consecutive assessments, with the version it happened at."""
    out = []
    for a, b in zip(record.assessments, record.assessments[1:], strict=False):
        s = shift_between(a, b, kb)
        if s is not None:
            out.append((b.version, s))
    return out


def due_reassessments(store: Store, today: date, upcoming: bool = False) -> list[Due]:
    """The reassessments asked for by each client's latest assessment, soonest first.

    Only the latest assessment counts: a reassessment done (a newer version) answers the
    earlier one. Without `upcoming`, only those due on or before `today`.
    """
    with store.session() as s:
        latest = (select(Assessment.client_id, func.max(Assessment.version).label("v"))
                  .group_by(Assessment.client_id).subquery())
        q = (select(Client.code, Assessment.version, Assessment.as_of, Reassessment.due_on,
                    Reassessment.reason)
             .join(latest, latest.c.client_id == Client.id)
             .join(Assessment, (Assessment.client_id == Client.id) & (Assessment.version == latest.c.v))
             .join(Reassessment, Reassessment.assessment_id == Assessment.id)
             .order_by(Reassessment.due_on, Client.code))
        if not upcoming:
            q = q.where(Reassessment.due_on <= today)
        return [Due(code=c, version=v, as_of=a, due_on=d, reason=r, overdue=d < today)
                for c, v, a, d, r in s.execute(q).all()]
