"""The case store's first schema: clients, assessments, drafts, reassessments, feedback,
issued cards and their feedback, erasures and the audit log, with the append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)

# The append-only tables; for those erasure may empty, the column naming the client.
APPEND_ONLY = {"clients": "id", "assessments": "client_id", "reassessments": "client_id",
               "feedback": "client_id", "issued_cards": "client_id",
               "card_feedback": "client_id", "erasures": None, "audit_log": None}


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(36), sa.ForeignKey("clients.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("position", sa.String(60), nullable=False),
        sa.Column("kb_version", sa.String(60), nullable=False),
        sa.Column("kb_sha256", sa.String(64), nullable=False),
        sa.Column("engine_version", sa.String(60), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("assessor", sa.String(200), nullable=False),
        sa.UniqueConstraint("client_id", "version", name="uq_assessment_version"),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(36), sa.ForeignKey("clients.id"), nullable=False, index=True),
        sa.Column("workspace", sa.String(40), nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("client_id", "workspace", name="uq_draft_workspace"),
    )
    op.create_table(
        "reassessments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(36), sa.ForeignKey("clients.id"), nullable=False, index=True),
        sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id"), nullable=False,
                  unique=True),
        sa.Column("due_on", sa.Date, nullable=False, index=True),
        sa.Column("after_weeks", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("because", JSON, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(36), sa.ForeignKey("clients.id"), nullable=False, index=True),
        sa.Column("assessment_id", sa.Integer, sa.ForeignKey("assessments.id"), nullable=False,
                  index=True),
        sa.Column("conclusion", sa.String(200), nullable=False),
        sa.Column("rules", JSON, nullable=False),
        sa.Column("agree", sa.Boolean, nullable=False),
        sa.Column("reason_system", sa.String(500)),
        sa.Column("reason_code", sa.String(200)),
        sa.Column("reason_display", sa.String(500)),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_table(
        "issued_cards",
        sa.Column("card", sa.String(100), primary_key=True),
        sa.Column("client_id", sa.String(36), sa.ForeignKey("clients.id"), index=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("hook_instance", sa.String(200), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("tenant", sa.String(200)),
        sa.Column("questionnaire_response", sa.String(500)),
        sa.Column("position", sa.String(60), nullable=False),
        sa.Column("indicator", sa.String(20), nullable=False),
        sa.Column("kb_version", sa.String(60), nullable=False),
        sa.Column("kb_sha256", sa.String(64), nullable=False),
        sa.Column("engine_version", sa.String(60), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
    )
    op.create_table(
        "card_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("card", sa.String(100), nullable=False, index=True),
        sa.Column("client_id", sa.String(36), sa.ForeignKey("clients.id"), index=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("accepted_suggestions", JSON, nullable=False),
        sa.Column("reason_system", sa.String(500)),
        sa.Column("reason_code", sa.String(200)),
        sa.Column("reason_display", sa.String(500)),
        sa.Column("user_comment", sa.Text),
        sa.Column("outcome_timestamp", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("tenant", sa.String(200)),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(36), nullable=False, unique=True),
        sa.Column("erased_at", TS, nullable=False),
        sa.Column("erased_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("removed", JSON, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("client_id", sa.String(36), index=True),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers() -> None:
    for table, column in APPEND_ONLY.items():
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END")
        unless = (f"WHEN NOT EXISTS (SELECT 1 FROM erasures WHERE client_id = OLD.{column}) "
                  if column else "")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {unless}"
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused "
                   f"(only a recorded erasure removes rows)'); END")


def _postgres_triggers() -> None:
    op.execute("""
        CREATE FUNCTION store_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' AND TG_NARGS > 0 AND EXISTS (
               SELECT 1 FROM erasures WHERE client_id = to_jsonb(OLD) ->> TG_ARGV[0]) THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION '% is append-only: % refused (only a recorded erasure removes rows)',
            TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$""")
    for table, column in APPEND_ONLY.items():
        arg = f"'{column}'" if column else ""
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION store_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION store_append_only({arg})")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION store_append_only()")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in reversed(list(APPEND_ONLY)):
        for kind in ("update", "delete", "truncate"):
            if kind == "truncate" and not postgres:
                continue
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{kind}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS store_append_only()")
    for table in ("audit_log", "erasures", "card_feedback", "issued_cards", "feedback",
                  "reassessments", "drafts", "assessments", "clients"):
        op.drop_table(table)
