"""A client's data on request: exported as JSON, or erased with the erasure recorded.

Erasure removes the client's clinical content (assessments, drafts, reassessments, feedback,
issued cards and their feedback, and the client row with its code) and leaves a tombstone in
`erasures`: when, by whom, why and how many rows went. The database triggers let a row of a
client be deleted only once such a tombstone exists, in the same transaction that writes the
audit entry. The audit log itself holds no clinical content, so it is untouched and the chain
still verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import ENGINE_VERSION
from store import audit
from store.cases import _actor, _client, _drafts
from store.db import Store, StoreError
from store.models import (
    Assessment,
    CardFeedback,
    Client,
    Draft,
    Erasure,
    Feedback,
    IssuedCard,
    Reassessment,
    now,
)

EXPORT_VERSION = 1
REASON_MAX = 2_000


@dataclass(frozen=True)
class Tombstone:
    """What an erasure left: the client's internal id, when, by whom, why, rows removed."""

    client_id: str
    erased_at: datetime
    erased_by: str
    reason: str
    removed: dict[str, int]


def _iso(t: datetime) -> str:
    return t.isoformat()


def export_client(store: Store, code: str, actor: str) -> dict[str, Any]:
    """Everything stored about a client as one JSON-ready dict (the export is audited)."""
    _actor(actor)

    def run(s: Session) -> dict[str, Any]:
        client = _client(s, code)
        rows = s.execute(select(Assessment).where(Assessment.client_id == client.id)
                         .order_by(Assessment.version)).scalars().all()
        fb = s.execute(select(Feedback).where(Feedback.client_id == client.id)
                       .order_by(Feedback.id)).scalars().all()
        due = s.execute(select(Reassessment).where(Reassessment.client_id == client.id)
                        .order_by(Reassessment.id)).scalars().all()
        version_of = {r.id: r.version for r in rows}
        audit.append(s, "export", actor, client.id, {"assessments": len(rows)})
        return {
            "export_version": EXPORT_VERSION,
            "exported_at": _iso(now()),
            "engine_version": ENGINE_VERSION,
            "client": {"code": client.code, "created_at": _iso(client.created_at),
                       "created_by": client.created_by},
            "assessments": [{
                "version": r.version, "as_of": r.as_of.isoformat(), "assessor": r.assessor,
                "created_at": _iso(r.created_at), "position": r.position,
                "knowledge_base": {"version": r.kb_version, "sha256": r.kb_sha256},
                "engine_version": r.engine_version, "case": r.answers, "report": r.report,
            } for r in rows],
            "reassessments": [{"version": version_of[d.assessment_id], "due_on": d.due_on.isoformat(),
                               "after_weeks": d.after_weeks, "reason": d.reason} for d in due],
            "feedback": [{
                "version": version_of[f.assessment_id], "conclusion": f.conclusion,
                "rules": f.rules, "agree": f.agree, "reason_system": f.reason_system,
                "reason_code": f.reason_code, "reason_display": f.reason_display,
                "comment": f.comment, "created_at": _iso(f.created_at), "actor": f.actor,
            } for f in fb],
            "drafts": {w: {"answers": d.answers, "revision": d.revision,
                           "updated_at": _iso(d.updated_at)} for w, d in _drafts(s, client.id).items()},
        }

    return store.run(run)


def erase_client(store: Store, code: str, actor: str, reason: str) -> Tombstone:
    """Erase a client's clinical content on request; the tombstone and audit entry remain."""
    _actor(actor)
    if not reason.strip() or len(reason) > REASON_MAX:
        raise StoreError(f"an erasure needs a reason (1 to {REASON_MAX} characters)")

    def run(s: Session) -> Tombstone:
        client = _client(s, code)
        cid = client.id
        at = now()
        tables = (("card_feedback", CardFeedback, CardFeedback.client_id),
                  ("issued_cards", IssuedCard, IssuedCard.client_id),
                  ("feedback", Feedback, Feedback.client_id),
                  ("reassessments", Reassessment, Reassessment.client_id),
                  ("drafts", Draft, Draft.client_id),
                  ("assessments", Assessment, Assessment.client_id),
                  ("clients", Client, Client.id))
        removed = {name: int(s.execute(select(func.count()).select_from(model)
                                       .where(column == cid)).scalar_one())
                   for name, model, column in tables}
        s.add(Erasure(client_id=cid, erased_at=at, erased_by=actor, reason=reason, removed=removed))
        s.flush()  # the tombstone first: the triggers allow the deletions only after it
        for name, model, column in tables:
            result = s.execute(delete(model).where(column == cid)
                               .execution_options(synchronize_session=False))
            if int(result.rowcount or 0) != removed[name]:  # type: ignore[attr-defined]
                raise StoreError("the client's data changed during the erasure; nothing was erased")
        s.expunge_all()
        audit.append(s, "erase", actor, cid, {"removed": removed})
        return Tombstone(client_id=cid, erased_at=at, erased_by=actor, reason=reason, removed=removed)

    return store.run(run)
