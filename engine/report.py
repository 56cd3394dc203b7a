"""The report (DESIGN.md section 5): a pydantic model, built from one evaluation's run.

Lists are sorted and nothing time-dependent is inside, so the same case always gives the
same report, byte for byte.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from engine.case import Answer, Case
from engine.errors import Problem, ProblemsError
from engine.inference import Run
from engine.kb_loader import KnowledgeBase
from engine.knowledge import (
    Argument,
    Caution,
    Finding,
    Interpretation,
    Measure,
    Position,
    Recommendation,
)

REPORT_VERSION = 1


class Out(BaseModel):
    """Report parts: frozen, serialised by alias ('for' is a Python keyword)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")


class Evidence(Out):
    """A finding or a weighed argument that points toward one side of the spectrum."""

    id: str
    text: str
    direction: str
    because: list[str]
    weight: int | None = None


class Spectrum(Out):
    """The spectrum position with the evidence for and against it."""

    position: str
    label: str
    evidence_for: list[Evidence] = Field(alias="for")
    against: list[Evidence]
    because: list[str]


class RecommendationOut(Out):
    """An intervention to consider, with its approach, pacing and why."""

    id: str
    title: str
    approach: str
    approach_label: str
    text: str
    pacing: str
    why: str
    because: list[str]


class CautionOut(Out):
    """A caution card."""

    id: str
    level: str
    title: str
    text: str
    because: list[str]


class ReflectionOut(Out):
    """A prompt for the therapist's self-reflection (countertransference)."""

    id: str
    title: str
    text: str
    because: list[str]


class MeasureOut(Out):
    """A standardized measure to administer, and why."""

    id: str
    name: str
    reason: str
    because: list[str]


class InterpretationOut(Out):
    """How to read a score that was given."""

    id: str
    measure: str
    title: str
    text: str
    scores: dict[str, int]
    because: list[str]


class QuestionOut(Out):
    """An unanswered question and the conclusions its answer could change.

    `needed` is false when no answer to it, whatever the other open questions turn out to be,
    changes any conclusion.
    """

    id: str
    prompt: str
    could_change: list[str]
    needed: bool


class InconsistencyOut(Out):
    """Answers that are valid one by one but contradict each other."""

    id: str
    title: str
    text: str
    because: list[str]


class SourceOut(Out):
    """Where a rule's knowledge comes from."""

    section: str
    quote: str
    reference: str | None = None


class TraceStep(Out):
    """One rule firing: which rule, on which facts, asserting what, from which source."""

    rule: str
    title: str
    used: list[str]
    asserted: list[str]
    source: SourceOut


class Reassessment(Out):
    """When the plan says to look again: after how many weeks from the assessment date, and why."""

    after_weeks: int
    reason: str
    because: list[str]


class MarkerOut(Out):
    """One of the source's key markers."""

    id: str
    label: str


class Completeness(Out):
    """Which of the source's key markers the answers assess; a stable claim needs all of them."""

    assessed: list[MarkerOut]
    unassessed: list[MarkerOut]

    @property
    def complete(self) -> bool:
        """Whether every key marker is assessed."""
        return not self.unassessed


class KnowledgeBaseInfo(Out):
    """Which knowledge base produced the report."""

    version: str
    sha256: str


class Report(Out):
    """Everything one assessment concluded, with the reasons."""

    report_version: int = REPORT_VERSION
    case_id: str | None
    subject: str
    as_of: str | None = None
    answers: dict[str, Answer] = Field(default_factory=dict)
    spectrum: Spectrum
    drivers: list[str]
    formulations: list[str]
    origins: list[str]
    recommendations: list[RecommendationOut]
    cautions: list[CautionOut]
    reflections: list[ReflectionOut]
    measures: list[MeasureOut]
    interpretations: list[InterpretationOut]
    questions: list[QuestionOut]
    inconsistencies: list[InconsistencyOut]
    reassess: Reassessment | None = None
    completeness: Completeness = Completeness(assessed=[], unassessed=[])
    explanations: dict[str, Any]
    trace: list[TraceStep]
    knowledge_base: KnowledgeBaseInfo

    def to_json_dict(self) -> dict[str, Any]:
        """The report as the JSON contract has it ('for', not 'evidence_for')."""
        return self.model_dump(mode="json", by_alias=True)


class EngineError(ProblemsError):
    """The knowledge base produced something the report contract forbids (a knowledge-base bug)."""


class TracedStep(Protocol):
    """A rule firing as the run (Firing) and the report (TraceStep) both record it."""

    @property
    def rule(self) -> str: ...

    @property
    def used(self) -> Sequence[str]: ...

    @property
    def asserted(self) -> Sequence[str]: ...


def rules_by_fact(steps: Iterable[TracedStep]) -> dict[str, list[str]]:
    """For each asserted fact, the ids of the rules that asserted it, sorted."""
    out: dict[str, set[str]] = defaultdict(set)
    for step in steps:
        for ref in step.asserted:
            out[ref].add(step.rule)
    return {ref: sorted(rules) for ref, rules in out.items()}


def _ids(run: Run, kind: str) -> list[str]:
    prefix = kind + "."
    return sorted(ref[len(prefix):] for ref in run.derived if ref.startswith(prefix))


def completeness(kb: KnowledgeBase, answers: Mapping[str, Answer]) -> Completeness:
    """The key markers these answers assess (any of a marker's questions answered) and the rest."""
    assessed: list[MarkerOut] = []
    unassessed: list[MarkerOut] = []
    for marker in kb.key_markers:
        out = MarkerOut(id=marker.id, label=marker.label)
        (assessed if any(q in answers for q in marker.questions) else unassessed).append(out)
    return Completeness(assessed=assessed, unassessed=unassessed)


def reassessment(kb: KnowledgeBase, answers: Mapping[str, Answer], run: Run,
                 because: Mapping[str, list[str]]) -> Reassessment | None:
    """The soonest reassessment the recommended plan asks for, in weeks from the assessment."""
    due: list[tuple[int, str, str]] = []
    for ref in run.derived:
        kind, _, ident = ref.partition(".")
        entry = kb.catalogue.get(kind, {}).get(ident) if kind == "recommendation" else None
        if not isinstance(entry, Recommendation) or entry.reassess is None:
            continue
        after = int(kb.param(entry.reassess.after) or 0)
        elapsed = next((answers[q] for q in entry.reassess.counted_from
                        if isinstance(answers.get(q), int)), 0)
        due.append((max(1, after - int(elapsed)), entry.label, ref))
    if not due:
        return None
    weeks, label, ref = min(due)
    return Reassessment(after_weeks=weeks, reason=label, because=because[ref])


def build_report(kb: KnowledgeBase, case: Case, run: Run) -> Report:
    """Turn one evaluation's run into the report contract."""
    because = rules_by_fact(run.trace)
    rules = {r.id: r for r in kb.rules}

    positions = _ids(run, "spectrum")
    if len(positions) != 1:
        raise EngineError([Problem(
            "knowledge_base/rules",
            f"the rules gave {len(positions)} spectrum positions "
            f"({', '.join(positions) or 'none'}); exactly one is required",
        )])
    position = kb.catalogue["spectrum"][positions[0]]
    assert isinstance(position, Position)

    evidence: list[Evidence] = []
    for fid in _ids(run, "finding"):
        finding = kb.catalogue["finding"][fid]
        if isinstance(finding, Finding) and finding.direction:
            evidence.append(Evidence(id=fid, text=finding.label, direction=finding.direction,
                                     because=because[f"finding.{fid}"]))
    for aid in _ids(run, "argument"):
        argument = kb.catalogue["argument"][aid]
        direction = kb.tallies[argument.tally].direction if isinstance(argument, Argument) else None
        if isinstance(argument, Argument) and direction:
            evidence.append(Evidence(id=aid, text=argument.label, direction=direction,
                                     because=because[f"argument.{aid}"],
                                     weight=kb.param(argument.weight)))

    def entries(kind: str) -> list[tuple[str, Any, list[str]]]:
        return [(i, kb.catalogue[kind][i], because[f"{kind}.{i}"]) for i in _ids(run, kind)]

    recommendations = []
    for rid, rec, by in entries("recommendation"):
        assert isinstance(rec, Recommendation)
        recommendations.append(RecommendationOut(
            id=rid, title=rec.label, approach=rec.approach,
            approach_label=kb.approaches[rec.approach].label, text=rec.text,
            pacing=rec.pacing, why=rec.why, because=by))
    cautions = []
    for cid, cau, by in entries("caution"):
        assert isinstance(cau, Caution)
        cautions.append(CautionOut(id=cid, level=cau.level, title=cau.label, text=cau.text,
                                   because=by))
    level_order = {"critical": 0, "warning": 1, "info": 2}
    cautions.sort(key=lambda c: (level_order[c.level], c.id))
    measures = []
    for mid, mea, by in entries("measure"):
        assert isinstance(mea, Measure)
        reason = "; ".join(rules[r].title for r in by)
        measures.append(MeasureOut(id=mid, name=mea.label, reason=reason, because=by))
    interpretations = []
    for iid, interp, by in entries("interpretation"):
        assert isinstance(interp, Interpretation)
        scores_of = kb.catalogue["measure"][interp.measure]
        assert isinstance(scores_of, Measure)
        scores = {s: int(case.answers[s]) for s in scores_of.scores if s in case.answers}
        interpretations.append(InterpretationOut(
            id=iid, measure=interp.measure, title=interp.label, text=interp.text,
            scores=scores, because=by))

    trace = []
    for firing in run.trace:
        rule = rules[firing.rule]
        trace.append(TraceStep(
            rule=rule.id, title=rule.title, used=list(firing.used), asserted=list(firing.asserted),
            source=SourceOut(**rule.source.model_dump())))

    return Report(
        case_id=case.case_id,
        subject=case.subject,
        as_of=case.as_of.isoformat() if case.as_of else None,
        answers={k: case.answers[k] for k in kb.questions if k in case.answers},
        spectrum=Spectrum(
            position=position.id,
            label=position.label,
            **{"for": [e for e in evidence if e.direction in position.evidence_for]},
            against=[e for e in evidence if e.direction in position.evidence_against],
            because=because[f"spectrum.{position.id}"],
        ),
        drivers=_ids(run, "driver"),
        formulations=_ids(run, "formulation"),
        origins=_ids(run, "origin"),
        recommendations=recommendations,
        cautions=cautions,
        reflections=[ReflectionOut(id=i, title=e.label, text=e.text, because=by)
                     for i, e, by in entries("reflection")],
        reassess=reassessment(kb, case.answers, run, because),
        completeness=completeness(kb, case.answers),
        measures=measures,
        interpretations=interpretations,
        questions=[],
        inconsistencies=[InconsistencyOut(id=i, title=e.label, text=e.text, because=by)
                         for i, e, by in entries("inconsistency")],
        explanations={},
        trace=trace,
        knowledge_base=KnowledgeBaseInfo(version=kb.meta.version, sha256=kb.sha256),
    )
