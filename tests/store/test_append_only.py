"""Clinical rows and the audit log refuse UPDATE and DELETE in the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from store.cases import commit_assessment, create_client, save_draft
from store.db import Store
from tests.store.helpers import AS_OF, CASE

CHANGES = {
    "clients": ("UPDATE clients SET code = 'C-OTHER'", "DELETE FROM clients"),
    "assessments": ("UPDATE assessments SET position = 'adaptive'", "DELETE FROM assessments"),
    "reassessments": ("UPDATE reassessments SET after_weeks = 1", "DELETE FROM reassessments"),
    "audit_log": ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"),
}


@pytest.fixture
def filled(store: Store) -> Store:
    create_client(store, "C-1", "dr-a")
    commit_assessment(store, "C-1", CASE, AS_OF, "dr-a")
    save_draft(store, "C-1", {"numbness": "present"})
    return store


@pytest.mark.parametrize("table", sorted(CHANGES))
@pytest.mark.parametrize("which", [0, 1], ids=["update", "delete"])
def test_refused(filled: Store, table: str, which: int) -> None:
    with pytest.raises(DBAPIError, match="append-only"), filled.engine.begin() as conn:
        conn.execute(text(CHANGES[table][which]))
    with filled.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() >= 1


def test_truncate_refused_on_postgres(pg_url: URL) -> None:  # SQLite has no TRUNCATE
    with Store.open(pg_url) as st:
        create_client(st, "C-1", "dr-a")
        for table in ("audit_log", "clients"):
            with pytest.raises(DBAPIError, match="append-only"), st.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE"))


def test_a_tombstone_for_another_client_does_not_open_the_door(filled: Store) -> None:
    create_client(filled, "C-2", "dr-a")
    with filled.engine.begin() as conn:
        other = conn.execute(text("SELECT id FROM clients WHERE code = 'C-2'")).scalar_one()
        conn.execute(text("INSERT INTO erasures (client_id, erased_at, erased_by, reason, removed) "
                          "VALUES (:c, CURRENT_TIMESTAMP, 'x', 'x', '{}')"), {"c": other})
    with pytest.raises(DBAPIError, match="append-only"), filled.engine.begin() as conn:
        conn.execute(text("DELETE FROM assessments"))


def test_the_draft_is_the_mutable_row(filled: Store) -> None:
    assert save_draft(filled, "C-1", {"numbness": "absent"}) == 2
