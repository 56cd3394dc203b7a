"""Test helpers: a committed case, and the raw SQL an intruder with database access could run."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text

from store.db import Store

CASE: dict[str, Any] = {
    "schema_version": 1,
    "timeline": {"onset_date": "2026-01-15", "precipitant": "bereavement", "stressor": "ended",
                 "stressor_ended_date": "2026-02-10"},
    "criteria": {"situation_specific": "no", "reconnects_when_safe": "no"},
    "findings": {"numbness": "present", "declines_comfort": "present"},
}
AS_OF = date(2026, 3, 1)


def tamper(store: Store, sql: str, **params: Any) -> None:
    """Run SQL with the append-only triggers switched off (as someone with database access could)."""
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            names = [r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            for name in names:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        conn.execute(text(sql), params)

# The same client months later: still not reconnecting, now long past the loss.
LATER = date(2026, 9, 1)
# At first: confined to the situation, reconnecting, able to explain it.
ADAPTIVE_CASE: dict[str, Any] = {
    "schema_version": 1,
    "timeline": {"onset_date": "2026-01-15", "precipitant": "bereavement", "stressor": "ended",
                 "stressor_ended_date": "2026-02-10"},
    "criteria": {"situation_specific": "yes", "reconnects_when_safe": "yes",
                 "can_explain_distancing": "yes", "aware_of_emotional_state": "yes"},
}
