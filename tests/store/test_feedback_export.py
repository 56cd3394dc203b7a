"""Agreement and override per conclusion; export and erasure on request."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from store import audit
from store.cases import UnknownClient, commit_assessment, create_client, open_client, save_draft
from store.db import Store, StoreError
from store.export import erase_client, export_client
from store.feedback import client_feedback, counts_per_rule, reasons, record_feedback
from store.models import AuditEntry, Erasure
from tests.store.helpers import AS_OF, CASE, LATER


@pytest.fixture
def two(store: Store) -> Store:
    create_client(store, "C-1", "dr-a")
    commit_assessment(store, "C-1", CASE, AS_OF, "dr-a")
    commit_assessment(store, "C-1", CASE, LATER, "dr-a")
    create_client(store, "C-2", "dr-a")
    commit_assessment(store, "C-2", CASE, AS_OF, "dr-a")
    return store


def test_feedback_per_conclusion_counted_per_rule(two: Store) -> None:
    report = open_client(two, "C-1", "dr-a", reports=True).assessments[0].report
    assert report is not None
    rule = report["spectrum"]["because"][0]
    record_feedback(two, "C-1", 1, "spectrum.at_risk", True, "dr-a")
    fb = record_feedback(two, "C-1", 1, "spectrum.at_risk", False, "dr-b",
                         reason_code="recipient-disagrees-evidence", comment="she reconnects at home")
    assert rule in fb.rules
    assert fb.reason_display == reasons()[1]["recipient-disagrees-evidence"]
    record_feedback(two, "C-2", 1, "spectrum.at_risk", False, "dr-b", reason_code="cds-not-applicable")
    counts = counts_per_rule(two)
    assert (counts[rule].agree, counts[rule].disagree) == (1, 2)
    assert counts[rule].reasons == {"recipient-disagrees-evidence": 1, "cds-not-applicable": 1}
    assert next(iter(counts)) == rule  # the most overridden first
    history = client_feedback(two, "C-1")
    assert [(f.agree, f.comment) for f in history] == [(True, None), (False, "she reconnects at home")]
    with two.session() as s:
        actions = [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    assert actions[-3:] == ["feedback", "override", "override"]


def test_feedback_is_checked(two: Store) -> None:
    with pytest.raises(StoreError, match="needs a reason"):
        record_feedback(two, "C-1", 1, "spectrum.at_risk", False, "dr-a")
    with pytest.raises(StoreError, match="needs a reason"):
        record_feedback(two, "C-1", 1, "spectrum.at_risk", False, "dr-a", reason_code="made-up")
    with pytest.raises(StoreError, match="not in this assessment"):
        record_feedback(two, "C-1", 1, "spectrum.adaptive", True, "dr-a")
    with pytest.raises(StoreError, match="no assessment version 9"):
        record_feedback(two, "C-1", 9, "spectrum.at_risk", True, "dr-a")
    assert client_feedback(two, "C-1") == []


def test_export(two: Store) -> None:
    record_feedback(two, "C-1", 2, "spectrum.maladaptive", True, "dr-a")
    save_draft(two, "C-1", {"numbness": "absent"})
    data = export_client(two, "C-1", "dr-a")
    assert data["client"]["code"] == "C-1"
    assert [a["version"] for a in data["assessments"]] == [1, 2]
    assert data["assessments"][0]["case"]["criteria"] == CASE["criteria"]
    assert data["assessments"][1]["report"]["spectrum"]["position"] == "maladaptive"
    assert data["feedback"][0]["conclusion"] == "spectrum.maladaptive"
    assert data["reassessments"][0]["version"] == 1
    assert data["drafts"]["client"]["answers"] == {"numbness": "absent"}
    with two.session() as s:
        assert s.execute(select(AuditEntry.action).order_by(AuditEntry.seq.desc())).first()[0] == "export"  # type: ignore[index]


def test_erasure_is_recorded_and_the_chain_still_holds(two: Store) -> None:
    record_feedback(two, "C-1", 1, "spectrum.at_risk", True, "dr-a")
    save_draft(two, "C-1", {"numbness": "absent"})
    tomb = erase_client(two, "C-1", "dr-a", "the client asked for erasure")
    assert tomb.removed == {"card_feedback": 0, "issued_cards": 0, "feedback": 1, "reassessments": 1,
                            "drafts": 1, "assessments": 2, "clients": 1}
    with pytest.raises(UnknownClient):
        open_client(two, "C-1", "dr-a")
    assert [a.version for a in open_client(two, "C-2", "dr-a").assessments] == [1]
    with two.session() as s:
        verdict = audit.verify(s)
        assert verdict.ok
        last = s.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
        assert last is not None and last.action == "open" and last.client_id != tomb.client_id
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "erase")).scalar_one()
        assert entry.client_id == tomb.client_id and entry.detail["removed"]["assessments"] == 2
        [stone] = s.execute(select(Erasure)).scalars()
        assert stone.reason == "the client asked for erasure" and stone.removed == tomb.removed
    with two.engine.connect() as conn:
        for table in ("assessments", "feedback", "drafts", "reassessments"):
            assert conn.execute(text(f"SELECT count(*) FROM {table} WHERE client_id = :c"),
                                {"c": tomb.client_id}).scalar_one() == 0
    with pytest.raises(StoreError, match="needs a reason"):
        erase_client(two, "C-2", "dr-a", "  ")
