"""The timeline, the diff between two assessments and the named shift."""

from __future__ import annotations

from engine import KnowledgeBase
from store.cases import commit_assessment, create_client, open_client
from store.db import Store
from store.timeline import diff, shifts, timeline
from tests.store.helpers import ADAPTIVE_CASE, AS_OF, CASE, LATER


def test_the_shift_months_later_without_retyping(store: Store, kb: KnowledgeBase) -> None:
    create_client(store, "C-1", "dr-a")
    commit_assessment(store, "C-1", CASE, AS_OF, "dr-a")
    commit_assessment(store, "C-1", CASE, LATER, "dr-a")  # the same answers, months later
    record = open_client(store, "C-1", "dr-a")
    points = timeline(record, kb)
    assert [(p.version, p.position, p.rank) for p in points] == [(1, "at_risk", 1), (2, "maladaptive", 2)]
    assert points[0].label == "At risk of becoming a pattern"
    d = diff(record.assessments[0], record.assessments[1], kb)
    assert d.answers == []
    assert d.shift is not None
    assert d.shift.direction == "towards maladaptive"
    assert d.shift.sentence() == "Shifted from At risk of becoming a pattern to Maladaptive"
    assert record.assessments[1].report is not None
    spectrum_rule = record.assessments[1].report["spectrum"]["because"][0]
    assert d.shift.rule == spectrum_rule
    rule = next(r for r in kb.rules if r.id == spectrum_rule)
    assert d.shift.quote == rule.source.quote and d.shift.rule_title == rule.title
    assert [v for v, _ in shifts(record, kb)] == [2]


def test_answers_and_conclusions_that_changed(store: Store, kb: KnowledgeBase) -> None:
    create_client(store, "C-1", "dr-a")
    commit_assessment(store, "C-1", ADAPTIVE_CASE, AS_OF, "dr-a")
    commit_assessment(store, "C-1", CASE, LATER, "dr-a")
    a, b = open_client(store, "C-1", "dr-a", reports=True).assessments
    assert a.report is not None and b.report is not None
    assert (a.position, b.position) == ("adaptive", "maladaptive")
    d = diff(a, b, kb)
    changed = {c.question: (c.before, c.after) for c in d.answers}
    assert changed["situation_specific"] == ("yes", "no")
    assert changed["reconnects_when_safe"] == ("yes", "no")
    assert changed["numbness"] == (None, "present")
    assert all(c.prompt == kb.questions[c.question].prompt for c in d.answers)
    added = {(c.kind, c.id) for c in d.conclusions if c.change == "added"}
    removed = {(c.kind, c.id) for c in d.conclusions if c.change == "removed"}
    rec_a = {("recommendations", r["id"]) for r in a.report["recommendations"]}
    rec_b = {("recommendations", r["id"]) for r in b.report["recommendations"]}
    assert {x for x in added if x[0] == "recommendations"} == rec_b - rec_a
    assert {x for x in removed if x[0] == "recommendations"} == rec_a - rec_b
    assert d.shift is not None and d.shift.before == "adaptive" and d.shift.after == "maladaptive"
    # No shift back and forth when nothing moves.
    assert diff(b, b, kb).shift is None and diff(b, b, kb).answers == []
    back = diff(b, a, kb).shift
    assert back is not None and back.direction == "towards adaptive"
