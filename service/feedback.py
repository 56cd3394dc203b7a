"""Feedback on cards (CDS Hooks 2.0 "Feedback") and the sink that stores it.

The service is stateless: what a clinician did with a card is handed to a `FeedbackSink`, which
the case store implements (an agreement or an override, each a new append-only row). So that
an outcome can be tied to the assessment it is about, the sink also hears of every card issued
(its uuid, the QuestionnaireResponse it was made from, the case id and the knowledge base), never
of the patient. Without a configured sink the feedback endpoint answers 503.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FEEDBACK_MAX = 100
COMMENT_MAX = 2_000


@dataclass(frozen=True)
class IssuedCard:
    """A card the service returned, with what it was made from (no patient identifiers)."""

    card: str
    service_id: str
    hook_instance: str
    issuer: str
    tenant: str | None
    questionnaire_response: str | None
    case_id: str | None
    position: str
    indicator: str
    knowledge_base_version: str
    knowledge_base_sha256: str
    engine_version: str
    issued_at: datetime


@dataclass(frozen=True)
class FeedbackRecord:
    """One outcome on one card: accepted (the clinician agrees) or overridden (with a reason)."""

    card: str
    service_id: str
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: tuple[str, ...]
    reason_system: str | None
    reason_code: str | None
    reason_display: str | None
    user_comment: str | None
    outcome_timestamp: datetime
    received_at: datetime
    issuer: str
    tenant: str | None


@runtime_checkable
class FeedbackSink(Protocol):
    """Where issued cards and feedback go (the case store implements it)."""

    def card_issued(self, card: IssuedCard) -> None:
        """Remember a card that was returned to an EHR."""
        ...

    def feedback(self, records: Sequence[FeedbackRecord]) -> None:
        """Store the outcomes of one feedback call (all or none)."""
        ...


class SinkError(Exception):
    """The configured feedback sink cannot be loaded."""


def load_sink(spec: str, options: Mapping[str, Any]) -> FeedbackSink:
    """Import 'package.module:factory' and call it with the options to make the sink."""
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SinkError(f"feedback_sink {spec!r} cannot be imported ({type(exc).__name__})") from None
    sink = factory(**dict(options))
    if not isinstance(sink, FeedbackSink):
        raise SinkError(f"feedback_sink {spec!r} has no card_issued and feedback methods")
    return sink


# ---- the request body (CDS Hooks 2.0 feedback shapes) ---------------------------------------

class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Coding(_Body):
    """A CDS Hooks Coding."""

    system: str = Field(min_length=1, max_length=500)
    code: str = Field(min_length=1, max_length=200)
    display: str | None = Field(default=None, max_length=500)


class OverrideReason(_Body):
    """Why the card was overridden: a Coding, a comment, or both (cds-fb-3)."""

    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=COMMENT_MAX)

    @model_validator(mode="after")
    def _something(self) -> OverrideReason:
        if self.reason is None and self.userComment is None:
            raise ValueError("an overrideReason needs a reason, a userComment, or both")
        return self


class AcceptedSuggestion(_Body):
    """A suggestion the clinician accepted, by its uuid."""

    id: str = Field(min_length=1, max_length=100)


class FeedbackItem(_Body):
    """One feedback entry."""

    card: str = Field(min_length=1, max_length=100)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(default=None, max_length=20)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime
    extension: dict[str, Any] | None = None

    @field_validator("outcomeTimestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must be an ISO 8601 date-time with its UTC offset, e.g. 2024-05-01T10:05:31Z")
        return value

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted outcome needs acceptedSuggestions (cds-fb-2)")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("an accepted outcome takes no overrideReason")
        return self


class FeedbackRequest(_Body):
    """The body of POST /cds-services/{id}/feedback."""

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=FEEDBACK_MAX)
    extension: dict[str, Any] | None = None


def records(body: FeedbackRequest, service_id: str, issuer: str, tenant: str | None,
            received_at: datetime) -> list[FeedbackRecord]:
    """The records to store for one validated feedback body."""
    out = []
    for item in body.feedback:
        reason = item.overrideReason.reason if item.overrideReason else None
        out.append(FeedbackRecord(
            card=item.card, service_id=service_id, outcome=item.outcome,
            accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions or ()),
            reason_system=reason.system if reason else None,
            reason_code=reason.code if reason else None,
            reason_display=reason.display if reason else None,
            user_comment=item.overrideReason.userComment if item.overrideReason else None,
            outcome_timestamp=item.outcomeTimestamp, received_at=received_at,
            issuer=issuer, tenant=tenant))
    return out
