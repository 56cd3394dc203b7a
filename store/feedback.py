"""The clinician's agreement or disagreement with a conclusion, counted per rule.

Disagreeing takes a reason from a fixed vocabulary: HL7's non-adherence reason codes, the
override reasons CDS Hooks feedback suggests (`service/override_reasons.json`, shared with the
service), and an optional comment. Each judgement is a new row (append-only) and an audit entry.
Counting per rule is what a knowledge engineer needs: which rules clinicians override most.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import audit
from store.cases import _actor, _client
from store.db import Store, StoreError
from store.models import Assessment, Feedback, now

REASONS_FILE = Path(__file__).resolve().parents[1] / "service" / "override_reasons.json"
COMMENT_MAX = 2_000


@cache
def reasons() -> tuple[str, dict[str, str]]:
    """The override reason vocabulary: its system URL and {code: display}."""
    data = json.loads(REASONS_FILE.read_text(encoding="utf-8"))
    return str(data["system"]), {c["code"]: c["display"] for c in data["concepts"]}


@dataclass(frozen=True)
class FeedbackInfo:
    """One judgement on one conclusion."""

    version: int
    conclusion: str
    rules: list[str]
    agree: bool
    reason_code: str | None
    reason_display: str | None
    comment: str | None = field(repr=False)
    created_at: datetime
    actor: str


@dataclass
class RuleCounts:
    """How clinicians judged the conclusions of one rule."""

    agree: int = 0
    disagree: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def conclusion_rules(report: dict[str, Any]) -> dict[str, list[str]]:
    """For each conclusion of a report ('spectrum.at_risk', 'recommendation.x', ...), its rules."""
    out: dict[str, set[str]] = {}
    for step in report.get("trace") or []:
        for ref in step.get("asserted") or []:
            out.setdefault(ref, set()).add(step["rule"])
    return {ref: sorted(rules) for ref, rules in out.items()
            if not ref.startswith(("finding.", "argument."))}


def record_feedback(store: Store, code: str, version: int, conclusion: str, agree: bool, actor: str,
                    reason_code: str | None = None, comment: str | None = None) -> FeedbackInfo:
    """Record agreement or disagreement with one conclusion of one assessment (audited)."""
    _actor(actor)
    system, vocab = reasons()
    if not agree and reason_code not in vocab:
        raise StoreError("disagreeing needs a reason, one of: " + ", ".join(vocab.values()))
    if agree and reason_code is not None:
        raise StoreError("agreeing takes no reason")
    if comment is not None and len(comment) > COMMENT_MAX:
        raise StoreError(f"a comment is at most {COMMENT_MAX} characters")

    def run(s: Session) -> FeedbackInfo:
        client = _client(s, code)
        row = s.execute(select(Assessment).where(Assessment.client_id == client.id,
                                                 Assessment.version == version)).scalar_one_or_none()
        if row is None:
            raise StoreError(f"the client has no assessment version {version}")
        rules = conclusion_rules(dict(row.report)).get(conclusion)
        if rules is None:
            raise StoreError("that conclusion is not in this assessment")
        fb = Feedback(client_id=client.id, assessment_id=row.id, conclusion=conclusion, rules=rules,
                      agree=agree, reason_system=None if agree else system, reason_code=reason_code,
                      reason_display=vocab.get(reason_code or ""), comment=comment,
                      created_at=now(), actor=actor)
        s.add(fb)
        s.flush()
        audit.append(s, "feedback" if agree else "override", actor, client.id,
                     {"version": version, "feedback": fb.id})
        return FeedbackInfo(version=version, conclusion=conclusion, rules=rules, agree=agree,
                            reason_code=reason_code, reason_display=fb.reason_display,
                            comment=comment, created_at=fb.created_at, actor=actor)

    return store.run(run)


def client_feedback(store: Store, code: str) -> list[FeedbackInfo]:
    """A client's judgements, oldest first (for the report and the history)."""
    with store.session() as s:
        client = _client(s, code)
        rows = s.execute(select(Feedback, Assessment.version)
                         .join(Assessment, Assessment.id == Feedback.assessment_id)
                         .where(Feedback.client_id == client.id).order_by(Feedback.id)).all()
        return [FeedbackInfo(version=v, conclusion=f.conclusion, rules=list(f.rules), agree=f.agree,
                             reason_code=f.reason_code, reason_display=f.reason_display,
                             comment=f.comment, created_at=f.created_at, actor=f.actor)
                for f, v in rows]


def counts_per_rule(store: Store) -> dict[str, RuleCounts]:
    """Agreements, disagreements and reasons per rule, the most overridden first."""
    counts: dict[str, RuleCounts] = {}
    with store.session() as s:
        for rules, agree, reason in s.execute(select(Feedback.rules, Feedback.agree,
                                                     Feedback.reason_code)).all():
            for rule in rules:
                c = counts.setdefault(rule, RuleCounts())
                if agree:
                    c.agree += 1
                else:
                    c.disagree += 1
                    c.reasons[reason or ""] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1].disagree, -kv[1].agree, kv[0])))
