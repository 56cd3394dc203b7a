"""The case store as the CDS Hooks service's feedback sink (`service.feedback.FeedbackSink`).

Every card the service returns is a row of `issued_cards` (linked to the client when the case
id is a client's code), and every outcome a row of `card_feedback`; both are append-only and
each is an audit entry (ids only). Configure it in the service's TOML file:

    feedback_store_url = "postgresql+psycopg://cds@db.example.org/cases"

(or `feedback_sink = "store.feedback_sink:sink"` with `[feedback_sink_options] url = "..."`).
The service imports this module only when so configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import audit
from store.cases import CODE
from store.db import Store
from store.models import CardFeedback, Client
from store.models import IssuedCard as IssuedCardRow

ACTOR_MAX = 200


def _actor(issuer: str) -> str:
    return ("ehr:" + issuer)[:ACTOR_MAX]


class StoreFeedbackSink:
    """Issued cards and their feedback, in the case store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def card_issued(self, card: Any) -> None:
        """Remember a card that was returned to an EHR (a service.feedback.IssuedCard)."""

        def run(s: Session) -> None:
            client_id = None
            if card.case_id and CODE.fullmatch(card.case_id):
                client_id = s.execute(select(Client.id).where(Client.code == card.case_id)).scalar()
            s.add(IssuedCardRow(
                card=card.card, client_id=client_id, service_id=card.service_id,
                hook_instance=card.hook_instance, issuer=card.issuer, tenant=card.tenant,
                questionnaire_response=card.questionnaire_response, position=card.position,
                indicator=card.indicator, kb_version=card.knowledge_base_version,
                kb_sha256=card.knowledge_base_sha256, engine_version=card.engine_version,
                issued_at=card.issued_at))
            s.flush()
            audit.append(s, "card", _actor(card.issuer), client_id, {"card": card.card})

        self.store.run(run)

    def feedback(self, records: Sequence[Any]) -> None:
        """Store the outcomes of one feedback call, all or none (service.feedback.FeedbackRecord)."""

        def run(s: Session) -> None:
            for r in records:
                client_id = s.execute(select(IssuedCardRow.client_id)
                                      .where(IssuedCardRow.card == r.card)).scalar()
                row = CardFeedback(
                    card=r.card, client_id=client_id, service_id=r.service_id, outcome=r.outcome,
                    accepted_suggestions=list(r.accepted_suggestions), reason_system=r.reason_system,
                    reason_code=r.reason_code, reason_display=r.reason_display,
                    user_comment=r.user_comment, outcome_timestamp=r.outcome_timestamp,
                    received_at=r.received_at, issuer=r.issuer, tenant=r.tenant)
                s.add(row)
                s.flush()
                audit.append(s, "override" if r.outcome == "overridden" else "feedback",
                             _actor(r.issuer), client_id, {"card": r.card, "card_feedback": row.id})

        self.store.run(run)


def sink(url: str | None = None, migrate: bool = True) -> StoreFeedbackSink:
    """The factory the service configuration names: the store at `url` (else the default)."""
    return StoreFeedbackSink(Store.open(url, migrate=migrate))
