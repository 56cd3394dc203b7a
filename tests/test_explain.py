"""Explanations: how, why not, what would change it, robustness, next questions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import KnowledgeBase, Report, assess, default_knowledge_base, parse_case
from engine.cli import main
from engine.conditions import Status, condition_states
from engine.generated import generated_evaluator
from engine.inference import Evaluator
from engine.vignettes import default_vignettes
from engine.whatif import (
    REPORTED_KINDS,
    Sweeper,
    conclusions_of,
    domain,
    next_questions,
    open_domain,
    with_answer,
)
from tests.strategies import case_dicts

KB = default_knowledge_base()
EVALUATOR = Evaluator(KB)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VIGNETTES = {v.id: v for v in default_vignettes()}


def explained(data: dict[str, Any]) -> Report:
    return assess(parse_case(data, KB), EVALUATOR, explain=True)


# ---- the evaluators agree with experta ---------------------------------------------------

@SETTINGS
@given(case_dicts(KB))
def test_generated_evaluator_fires_exactly_what_experta_fires(data: dict[str, Any]) -> None:
    case = parse_case(data, KB)
    run = EVALUATOR.run(case)
    derived, fired = generated_evaluator(KB)(case.answers)
    assert set(fired) == {f.rule for f in run.trace}
    assert derived == run.derived


@SETTINGS
@given(case_dicts(KB))
def test_a_rule_fires_exactly_when_all_its_conditions_hold(data: dict[str, Any]) -> None:
    case = parse_case(data, KB)
    run = EVALUATOR.run(case)
    fired = {f.rule for f in run.trace}
    for rule in KB.rules:
        states = condition_states(KB, rule, case.answers, run.derived)
        assert (rule.id in fired) == all(s.status is Status.MET for s in states), rule.id


# ---- how ---------------------------------------------------------------------------------

def test_how_is_a_proof_tree_from_the_trace() -> None:
    report = explained(VIGNETTES["bereaved_months_later"].case)
    proof = report.explanations["how"]["spectrum.maladaptive"]
    fired = {s.rule for s in report.trace}
    assert {s["rule"] for s in proof["steps"]} <= fired
    top = [s for s in proof["steps"] if s["depth"] == 0]
    assert top and all("spectrum.maladaptive" in s["asserted"] for s in top)
    deeper = {s["rule"] for s in proof["steps"] if s["depth"] == 1}
    assert "course.loss_long_ago" in deeper
    step = next(s for s in proof["steps"] if s["rule"] == "course.loss_long_ago")
    assert "How many weeks ago did the situation end? 26" in step["used_text"]
    assert step["source"]["quote"].startswith("However, if that same person stays disconnected")
    # the weighing is part of the proof: the arguments counted, and the rules that asserted them
    assert any(u.startswith("tally pattern = ") for u in top[0]["used"])
    assert {"weigh.grief_unprocessed", "weigh.does_not_reconnect"} <= {s["rule"] for s in proof["steps"]}


# ---- why not -----------------------------------------------------------------------------

def test_why_not_adaptive_months_later_names_the_persistence_beyond_the_loss() -> None:
    report = explained(VIGNETTES["bereaved_months_later"].case)
    rules = {r["rule"]: r for r in report.explanations["why_not"]["spectrum.adaptive"]}
    by_label = {c["label"]: c for c in rules["spectrum.adaptive.within"]["conditions"]}
    within = by_label["Still within the triggering situation (time-limited)"]
    assert within["status"] == "unmet"
    aftermath = next(r for r in within["unmet_because"] if r["rule"] == "frame.aftermath")
    loss = next(c for c in aftermath["conditions"] if c["text"] == "finding.aftermath")
    recent = next(r for r in loss["unmet_because"] if r["rule"] == "course.loss_recent")
    weeks = next(c for c in recent["conditions"] if c["text"].startswith("weeks_since_stressor_ended"))
    assert weeks == {"text": "weeks_since_stressor_ended below 26 (bereavement_persistence_weeks)",
                     "status": "unmet", "label": "How many weeks ago did the situation end?", "value": "26"}
    against = {e["id"] for e in report.explanations["evidence_against"]["spectrum.adaptive"]}
    assert "persists_beyond_situation" in against


def test_why_not_separates_unmet_from_unknown() -> None:
    report = explained({"schema_version": 1, "timeline": {"stressor": "ongoing"}})
    rules = {r["rule"]: r for r in report.explanations["why_not"]["spectrum.adaptive"]}
    statuses = {c["text"]: c["status"] for c in rules["spectrum.adaptive.within"]["conditions"]}
    assert statuses["finding.time_limited"] == "met"
    # no marker answered yet: the protective tally could still reach 1 (unknown, not unmet)
    assert statuses["tally protection at least 1"] == "unknown"
    assert report.explanations["why_not"].get("spectrum.undetermined") is None  # it was reached


# ---- what would change it ----------------------------------------------------------------

def test_single_answer_changes_really_change_the_position() -> None:
    data = VIGNETTES["funeral_arrangements"].case
    report = explained(data)
    case = parse_case(data, KB)
    evaluate = generated_evaluator(KB)
    variants = report.explanations["what_would_change"]["spectrum"]
    assert variants
    for v in variants:
        answers = dict(case.answers)
        for change in v["changes"]:
            answers = with_answer(KB, answers, change["question"], change["to"])
        assert conclusions_of(evaluate(answers)[0])["spectrum"] == {v["result"]}
        assert v["result"] != report.spectrum.position


def test_pairs_are_minimal() -> None:
    case = parse_case(VIGNETTES["bereaved_months_later"].case, KB)
    sweeper = Sweeper(KB, case.answers)
    variants = sweeper.what_would_change("spectrum", pairs=True)
    singles = {(v.changes[0].question, v.changes[0].after) for v in variants if len(v.changes) == 1}
    pairs = [v for v in variants if len(v.changes) == 2]
    assert pairs
    for v in pairs:
        assert all((c.question, c.after) not in singles for c in v.changes)


# ---- robustness --------------------------------------------------------------------------

def test_a_stable_position_is_reported_stable() -> None:
    robust = explained(VIGNETTES["iv_full_maladaptive"].case).explanations["robustness"]
    assert robust["stable"] is robust["robust"] is robust["exhaustive"] is True
    assert robust["reachable_positions"] == ["maladaptive"] and robust["unassessed"] == []


def test_a_robust_position_is_not_stable_while_key_markers_are_unassessed() -> None:
    # Issue 9: quick triage claimed "stable" after four answers with no symptom asked.
    report = explained({"schema_version": 1, "timeline": {"stressor": "none", "duration": "lifelong"},
                        "criteria": {"situation_specific": "no", "relationships_intact": "no",
                                     "reconnects_when_safe": "no"}})
    robust = report.explanations["robustness"]
    assert report.spectrum.position == "maladaptive"
    assert robust["stable"] is False
    assert {"numbness", "emptiness", "precipitant"} <= set(robust["unassessed"])


def test_an_unstable_position_names_its_pivotal_unknowns() -> None:
    robust = explained(VIGNETTES["er_doctor"].case).explanations["robustness"]
    assert robust["stable"] is False
    assert "at_risk" in robust["reachable_positions"]
    assert "numbness" in robust["pivotal"]


@st.composite
def completions(draw: st.DrawFn, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers with every open question that can be answered answered at random."""
    out = dict(answers)
    for qid, q in KB.questions.items():
        if qid not in out and q.section != "subject" and q.kind != "date" and q.requirements_met(out):
            out[qid] = draw(st.sampled_from(open_domain(KB, qid, out)))
    return out


@SETTINGS
@given(case_dicts(KB), st.data())
def test_stable_positions_hold_for_any_completion(data: dict[str, Any], more: st.DataObject) -> None:
    case = parse_case(data, KB)
    report = assess(case, EVALUATOR, explain=True)
    if not report.explanations["robustness"]["stable"]:
        return
    filled = more.draw(completions(dict(case.answers)))
    assert conclusions_of(generated_evaluator(KB)(filled)[0])["spectrum"] == {report.spectrum.position}


# ---- next questions ----------------------------------------------------------------------

def test_next_question_with_only_numbness_can_change_the_position() -> None:
    report = explained({"schema_version": 1, "findings": {"numbness": "present"}})
    top = report.questions[0]
    assert top.needed and "spectrum" in top.could_change
    # Brute force: some answer to it, alone or with one more answer, changes the position.
    base = dict(parse_case({"schema_version": 1, "findings": {"numbness": "present"}}, KB).answers)
    evaluate = generated_evaluator(KB)
    found = False
    for value in domain(KB, top.id):
        first = with_answer(KB, base, top.id, value)
        others = [q for q in KB.questions if q not in first and KB.questions[q].requirements_met(first)]
        for other in [None, *others]:
            for other_value in [None] if other is None else domain(KB, other):
                answers = first if other is None else with_answer(KB, first, other, other_value)
                if conclusions_of(evaluate(answers)[0])["spectrum"] != {report.spectrum.position}:
                    found = True
    assert found


def test_questions_are_the_unanswered_ones_ranked() -> None:
    report = explained(VIGNETTES["er_doctor"].case)
    answered = set(parse_case(VIGNETTES["er_doctor"].case, KB).answers)
    ids = [q.id for q in report.questions]
    assert not set(ids) & answered
    needed = [q.needed for q in report.questions]
    assert needed == sorted(needed, reverse=True)  # needed ones first
    assert report.to_json_dict()["questions"][0]["could_change"]


@SETTINGS
@given(case_dicts(KB), st.data())
def test_a_question_marked_not_needed_changes_nothing(data: dict[str, Any], more: st.DataObject) -> None:
    case = parse_case(data, KB)
    unneeded = [q for q, could in next_questions(KB, case.answers) if not could]
    if not unneeded:
        return
    qid = more.draw(st.sampled_from(unneeded))
    filled = more.draw(completions(dict(case.answers)))  # whatever the others turn out to be
    filled.pop(qid, None)
    evaluate = generated_evaluator(KB)
    answerable = KB.questions[qid].requirements_met(filled)
    results = set()
    for value in [None, *open_domain(KB, qid, filled)]:
        answers = with_answer(KB, filled, qid, value) if answerable else filled
        derived = evaluate(answers)[0]
        # Not the conclusions only: nothing the report shows may change (advice included).
        results.add(frozenset(r for r in derived if r.partition(".")[0] in REPORTED_KINDS))
    assert len(results) == 1, qid


def test_a_question_that_only_changes_advice_is_needed() -> None:
    # Pushing for expression changes no conclusion but adds a caution and a reflection.
    ranked = dict(next_questions(KB, parse_case({"schema_version": 1}, KB).answers))
    assert "caution.forcing_expression_backfires" in ranked["therapist_pushing_expression"]


# ---- the command line --------------------------------------------------------------------

def test_cli_explain_why_not(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(VIGNETTES["bereaved_months_later"].case))
    assert main(["explain", str(path), "--why-not", "adaptive"]) == 0
    out = capsys.readouterr().out
    assert "Why not Adaptive (spectrum.adaptive)?" in out
    assert "How many weeks ago did the situation end? (answer: 26)" in out
    assert main(["explain", str(path), "--why-not", "adaptiv"]) == 2
    assert "did you mean spectrum.adaptive" in capsys.readouterr().err


def test_cli_assess_json_carries_explanations(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"schema_version": 1, "findings": {"numbness": "present"}}))
    assert main(["assess", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["explanations"]) >= {"how", "why_not", "what_would_change", "robustness"}
    assert report["questions"][0]["needed"] is True


def test_cli_bench_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--json", "--repeat", "1"]) == 0
    figures = json.loads(capsys.readouterr().out)
    for key in ("assess_ms", "explain_ms", "fresh_engine_ms"):
        assert figures[key]["p50"] > 0 and figures[key]["p95"] >= figures[key]["p50"]


def test_explanations_are_deterministic(run_case: Callable[..., Report], kb: KnowledgeBase) -> None:
    data = {"schema_version": 1, "timeline": {"stressor": "ongoing"}, "findings": {"numbness": "present"}}
    first = json.dumps(assess(parse_case(data, kb), Evaluator(kb), explain=True, pairs=True).to_json_dict())
    again = json.dumps(assess(parse_case(data, kb), EVALUATOR, explain=True, pairs=True).to_json_dict())
    assert first == again
