"""Clients, drafts and assessments on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import CaseError
from store.cases import (
    InvalidCode,
    UnknownClient,
    commit_assessment,
    create_client,
    ensure_client,
    load_draft,
    load_report,
    merge_draft,
    open_client,
    recent_clients,
    reevaluate,
    save_draft,
    with_report,
)
from store.db import Store, StoreError
from store.timeline import due_reassessments
from tests.store.helpers import AS_OF, CASE, LATER


def test_a_client_is_a_pseudonymous_code(store: Store) -> None:
    info = create_client(store, "C-0142", "dr-a")
    assert info.code == "C-0142" and "C-0142" not in repr(info)
    for bad in ("", "Jane Doe", "-x", "a" * 41, "x/y"):
        with pytest.raises(InvalidCode):
            create_client(store, bad, "dr-a")
    with pytest.raises(StoreError, match="already exists"):
        create_client(store, "C-0142", "dr-a")
    assert ensure_client(store, "C-0142", "dr-a").id == info.id


def test_the_draft_comes_back_exactly(store: Store) -> None:
    create_client(store, "C-1", "dr-a")
    assert load_draft(store, "C-1") is None
    answers = {"numbness": "present", "tas20_total": 58, "onset_date": "2026-01-15",
               "_notes": "line one\nüñí \u202e"}
    assert save_draft(store, "C-1", answers) == 1
    answers["numbness"] = "absent"
    assert save_draft(store, "C-1", answers) == 2
    draft = load_draft(store, "C-1")
    assert draft is not None and draft.answers == answers and draft.revision == 2
    assert save_draft(store, "C-1", {"x": 1}, workspace="self") == 1
    assert load_draft(store, "C-1").answers == answers  # type: ignore[union-attr]
    with pytest.raises(UnknownClient):
        save_draft(store, "C-404", answers)


def test_two_sessions_answering_one_draft_keep_both(store: Store) -> None:
    create_client(store, "C-1", "dr-a")
    start = {"answers": {"numbness": "present"}, "notes": "", "step": 0}
    assert merge_draft(store, "C-1", None, start).revision == 1
    # Both sessions loaded `start`; each answers another question.
    a = {**start, "answers": {"numbness": "present", "tas20_total": 58}}
    b = {**start, "answers": {"numbness": "present", "declines_comfort": "present"}, "step": 3}
    merge_draft(store, "C-1", start, a)
    merged = merge_draft(store, "C-1", start, b)
    assert merged.answers["answers"] == {"numbness": "present", "tas20_total": 58,
                                         "declines_comfort": "present"}
    assert merged.answers["step"] == 3 and merged.revision == 3
    # A removed answer (back to unknown) is removed, not brought back by the merge.
    c = {**merged.answers, "answers": {"tas20_total": 58, "declines_comfort": "present"}}
    after = merge_draft(store, "C-1", merged.answers, c)
    assert after.answers["answers"] == {"tas20_total": 58, "declines_comfort": "present"}
    assert load_draft(store, "C-1") == after


def test_commit_makes_versions_and_keeps_the_report(store: Store) -> None:
    create_client(store, "C-1", "dr-a")
    first = commit_assessment(store, "C-1", CASE, AS_OF, "dr-a")
    second = commit_assessment(store, "C-1", CASE, LATER, "dr-b")
    assert (first.version, second.version) == (1, 2)
    assert (first.position, second.position) == ("at_risk", "maladaptive")
    assert first.report["as_of"] == AS_OF.isoformat()
    assert first.answers["case_id"] == "C-1"
    assert len(first.kb_sha256) == 64 and first.engine_version
    record = open_client(store, "C-1", "dr-a")
    assert [a.version for a in record.assessments] == [1, 2]
    assert record.assessments[0].report is None  # only the latest comes with its full report
    assert record.assessments[1].report == second.report
    assert load_report(store, "C-1", 1) == first.report
    assert with_report(store, "C-1", record.assessments[0]).report == first.report
    assert record.assessments[0].label == "At risk of becoming a pattern"
    assert [a.report for a in open_client(store, "C-1", "dr-a", reports=True).assessments] == [
        first.report, second.report]
    assert record.latest is not None and record.latest.assessor == "dr-b"


def test_re_evaluation_is_reproducible(store: Store) -> None:
    create_client(store, "C-1", "dr-a")
    commit_assessment(store, "C-1", CASE, AS_OF, "dr-a")
    stored = open_client(store, "C-1", "dr-a").assessments[0]
    assert stored.report is not None and reevaluate(stored) == stored.report


def test_an_invalid_case_stores_nothing(store: Store) -> None:
    create_client(store, "C-1", "dr-a")
    with pytest.raises(CaseError):
        commit_assessment(store, "C-1", {"schema_version": 1, "findings": {"numbness": "maybe"}},
                          AS_OF, "dr-a")
    assert open_client(store, "C-1", "dr-a").assessments == []


def test_recent_clients(store: Store) -> None:
    for code in ("C-1", "C-2", "C-3"):
        create_client(store, code, "dr-a")
    commit_assessment(store, "C-2", CASE, AS_OF, "dr-a")
    save_draft(store, "C-1", {"numbness": "present"})
    rows = recent_clients(store)
    assert [r.code for r in rows] == ["C-1", "C-2", "C-3"]
    assert rows[1].position == "at_risk" and rows[1].assessments == 1
    assert [r.code for r in recent_clients(store, limit=1)] == ["C-1"]


def test_due_reassessments_follow_the_report(store: Store) -> None:
    create_client(store, "C-1", "dr-a")
    create_client(store, "C-2", "dr-a")
    first = commit_assessment(store, "C-1", CASE, AS_OF, "dr-a")
    assert first.report is not None
    reassess = first.report["reassess"]
    assert reassess is not None
    due_on = AS_OF + timedelta(weeks=reassess["after_weeks"])
    assert due_reassessments(store, due_on - timedelta(days=1)) == []
    [due] = due_reassessments(store, due_on)
    assert (due.code, due.version, due.due_on, due.reason) == ("C-1", 1, due_on, reassess["reason"])
    assert not due.overdue and due_reassessments(store, due_on + timedelta(days=3))[0].overdue
    assert len(due_reassessments(store, AS_OF, upcoming=True)) == 1
    # The reassessment done months later answers it (its own report asks for none).
    later = commit_assessment(store, "C-1", CASE, LATER, "dr-a")
    assert later.report is not None and later.report["reassess"] is None
    assert due_reassessments(store, LATER, upcoming=True) == []
