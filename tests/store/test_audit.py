"""The audit chain: every audited act is an entry; an edit, a deletion or a reordering is found."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from store import audit
from store.cases import commit_assessment, create_client, open_client
from store.db import Store
from store.models import AuditEntry
from tests.store.conftest import url_text
from tests.store.helpers import AS_OF, CASE, tamper


@pytest.fixture
def chained(store: Store) -> Store:
    create_client(store, "C-1", "dr-a")
    commit_assessment(store, "C-1", CASE, AS_OF, "dr-a")
    open_client(store, "C-1", "dr-b")
    create_client(store, "C-2", "dr-a")
    open_client(store, "C-2", "dr-a")
    return store


def verify(store: Store) -> audit.Verdict:
    with store.session() as s:
        return audit.verify(s)


def cli(url: URL, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "store", "--url", url_text(url), "audit-verify", *args],
                          capture_output=True, text=True)


def test_the_chain_holds(chained: Store, store_url: URL) -> None:
    verdict = verify(chained)
    assert verdict.ok and verdict.entries == 5
    with chained.session() as s:
        actions = [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    assert actions == ["create", "commit", "open", "create", "open"]
    out = cli(store_url)
    assert out.returncode == 0
    assert out.stdout.startswith("chain holds (5 entries, head ")
    assert cli(store_url, "--expect-head", verdict.head[:16]).returncode == 0


def test_entries_hold_no_clinical_content(chained: Store) -> None:
    with chained.session() as s:
        for e in s.execute(select(AuditEntry)).scalars():
            text_of = str((e.actor, e.action, e.detail))
            assert "C-1" not in text_of and "numbness" not in text_of


def test_an_edited_entry(chained: Store, store_url: URL) -> None:
    tamper(chained, "UPDATE audit_log SET actor = 'dr-z' WHERE seq = 3")
    verdict = verify(chained)
    assert not verdict.ok and verdict.broken_at == 3
    assert "changed" in verdict.reason
    out = cli(store_url)
    assert out.returncode == 1
    assert "broken at entry 3" in out.stderr


def test_an_edited_detail(chained: Store) -> None:
    tamper(chained, "UPDATE audit_log SET detail = :d WHERE seq = 2", d='{"version": 7}')
    assert verify(chained).broken_at == 2


def test_a_deleted_entry(chained: Store, store_url: URL) -> None:
    tamper(chained, "DELETE FROM audit_log WHERE seq = 2")
    verdict = verify(chained)
    assert not verdict.ok and verdict.broken_at == 2
    assert "missing" in verdict.reason
    assert "broken at entry 2" in cli(store_url).stderr


def test_a_deleted_and_renumbered_entry(chained: Store) -> None:
    tamper(chained, "DELETE FROM audit_log WHERE seq = 2")
    for seq in (3, 4, 5):
        tamper(chained, "UPDATE audit_log SET seq = :n WHERE seq = :o", n=seq - 1, o=seq)
    verdict = verify(chained)
    assert not verdict.ok and verdict.broken_at == 2


def test_reordered_entries(chained: Store, store_url: URL) -> None:
    tamper(chained, "UPDATE audit_log SET seq = 100 WHERE seq = 3")
    tamper(chained, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    tamper(chained, "UPDATE audit_log SET seq = 4 WHERE seq = 100")
    verdict = verify(chained)
    assert not verdict.ok and verdict.broken_at == 3
    assert cli(store_url).returncode == 1


def test_a_removed_tail_is_found_against_a_noted_head(chained: Store, store_url: URL) -> None:
    head = verify(chained).head
    tamper(chained, "DELETE FROM audit_log WHERE seq = 5")
    assert verify(chained).ok  # the chain alone cannot see a cut tail
    out = cli(store_url, "--expect-head", head[:16])
    assert out.returncode == 1 and "expected" in out.stderr
