"""The store's tables (SQLAlchemy 2 typed declarative models).

Clinical rows are append-only: `clients`, `assessments`, `feedback`, `reassessments`,
`issued_cards`, `card_feedback`, `erasures` and the `audit_log` refuse UPDATE and DELETE in the
database itself (triggers, see the migrations). The one exception is erasure on request: once
an `erasures` tombstone names a client, that client's rows may be deleted (in the same
transaction, which also writes the audit entry). `drafts` is the one mutable table: the answers
in progress, saved on every change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")
CODE_MAX = 40
UUID_LEN = 36


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base of the store's models."""


class Client(Base):
    """A client: a pseudonymous code (the case id rules), never a name."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"Client({self.id!r})"


class Assessment(Base):
    """One committed assessment (a new row for every version; never updated)."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("client_id", "version", name="uq_assessment_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, deferred=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)
    position: Mapped[str] = mapped_column(String(60))
    kb_version: Mapped[str] = mapped_column(String(60))
    kb_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assessor: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"Assessment({self.client_id!r}, v{self.version})"


class Draft(Base):
    """The answers in progress for one client and workspace (the one mutable row)."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("client_id", "workspace", name="uq_draft_workspace"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    workspace: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"Draft({self.client_id!r}, {self.workspace!r}, r{self.revision})"


class Reassessment(Base):
    """When an assessment's plan says to look again (from the report's `reassess`)."""

    __tablename__ = "reassessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), unique=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    after_weeks: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    because: Mapped[list[str]] = mapped_column(JSONType)


class Feedback(Base):
    """A clinician's agreement or disagreement with one conclusion of one assessment."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    conclusion: Mapped[str] = mapped_column(String(200))
    rules: Mapped[list[str]] = mapped_column(JSONType)
    agree: Mapped[bool] = mapped_column(Boolean)
    reason_system: Mapped[str | None] = mapped_column(String(500))
    reason_code: Mapped[str | None] = mapped_column(String(200))
    reason_display: Mapped[str | None] = mapped_column(String(500))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))


class IssuedCard(Base):
    """A CDS Hooks card the service returned (linked to a client when its case id is one)."""

    __tablename__ = "issued_cards"

    card: Mapped[str] = mapped_column(String(100), primary_key=True)
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(200))
    hook_instance: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))
    tenant: Mapped[str | None] = mapped_column(String(200))
    questionnaire_response: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[str] = mapped_column(String(60))
    indicator: Mapped[str] = mapped_column(String(20))
    kb_version: Mapped[str] = mapped_column(String(60))
    kb_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(60))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardFeedback(Base):
    """What a clinician did with a card in the EHR (CDS Hooks feedback: accepted / overridden)."""

    __tablename__ = "card_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card: Mapped[str] = mapped_column(String(100), index=True)
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSONType)
    reason_system: Mapped[str | None] = mapped_column(String(500))
    reason_code: Mapped[str | None] = mapped_column(String(200))
    reason_display: Mapped[str | None] = mapped_column(String(500))
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issuer: Mapped[str] = mapped_column(String(500))
    tenant: Mapped[str | None] = mapped_column(String(200))


class Erasure(Base):
    """The tombstone of an erased client: who erased it, when, why, and how many rows went."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(UUID_LEN), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime())
    erased_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    removed: Mapped[dict[str, int]] = mapped_column(JSONType)


class AuditEntry(Base):
    """One entry of the hash-chained audit log (no clinical content: ids and counts only)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[str | None] = mapped_column(String(UUID_LEN), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


APPEND_ONLY = ("clients", "assessments", "reassessments", "feedback", "issued_cards",
               "card_feedback", "erasures", "audit_log")
# The tables whose rows erasure may delete, and the column naming the client.
ERASABLE = {"card_feedback": "client_id", "issued_cards": "client_id", "feedback": "client_id",
            "reassessments": "client_id", "assessments": "client_id", "clients": "id"}
