"""Invariants over random valid cases (hypothesis)."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import KnowledgeBase, assess, default_knowledge_base, parse_case
from engine.inference import Evaluator
from tests.strategies import case_dicts

KB = default_knowledge_base()
# Building an experta engine costs ~30 ms, so the properties reuse two; reuse is itself under test.
FIRST, SECOND = Evaluator(KB), Evaluator(KB)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RANK = {"adaptive": 0, "at_risk": 1, "maladaptive": 2}
# The source's adaptive markers that a case answers as criteria (time-limited is the timeline).
ADAPTIVE_MARKERS = ("situation_specific", "can_explain_distancing", "reconnects_when_safe",
                    "relationships_intact", "emotions_accessible_when_safe")


def report_json(data: dict[str, Any], evaluator: Evaluator) -> str:
    return json.dumps(assess(parse_case(data, KB), evaluator).to_json_dict(), sort_keys=False)


def shuffled(data: dict[str, Any], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    keys = list(data)
    rng.shuffle(keys)
    for key in keys:
        value = data[key]
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            value = dict(items)
        out[key] = value
    return out


@SETTINGS
@given(case_dicts(KB))
def test_every_valid_case_gives_a_report_with_one_position(data: dict[str, Any]) -> None:
    report = assess(parse_case(data, KB), FIRST)
    assert report.spectrum.position in KB.catalogue["spectrum"]
    assert [s.rule for s in report.trace if s.asserted[0].startswith("spectrum.")]


@SETTINGS
@given(case_dicts(KB), st.integers(0, 2**32))
def test_order_of_answers_does_not_change_the_report(data: dict[str, Any], seed: int) -> None:
    assert report_json(data, FIRST) == report_json(shuffled(data, seed), SECOND)


@SETTINGS
@given(case_dicts(KB), case_dicts(KB))
def test_report_is_byte_identical_across_runs_and_engines(a: dict[str, Any], b: dict[str, Any]) -> None:
    first = report_json(a, FIRST)
    report_json(b, SECOND)  # a previous case on the same engine must leave nothing behind
    assert report_json(a, SECOND) == first
    assert report_json(a, FIRST) == first


@SETTINGS
@given(case_dicts(KB), st.sampled_from(ADAPTIVE_MARKERS))
def test_adaptive_marker_no_to_yes_never_moves_toward_maladaptive(data: dict[str, Any], marker: str) -> None:
    before = dict(data, criteria={**data.get("criteria", {}), marker: "no"})
    after = dict(data, criteria={**data.get("criteria", {}), marker: "yes"})
    old = assess(parse_case(before, KB), FIRST).spectrum.position
    new = assess(parse_case(after, KB), FIRST).spectrum.position
    if new == "maladaptive":
        assert old == "maladaptive"
    if old in RANK and new in RANK:
        assert RANK[new] <= RANK[old], (old, new)


def test_fresh_engines_agree_with_reused_ones() -> None:
    data = {"schema_version": 1, "timeline": {"stressor": "ended", "weeks_since_stressor_ended": 30},
            "findings": {"numbness": "present"}, "criteria": {"situation_specific": "no"}}
    assert report_json(data, Evaluator(KB)) == report_json(data, FIRST) == report_json(data, Evaluator(KB))


def test_strategy_generates_every_section(kb: KnowledgeBase) -> None:
    seen: set[str] = set()

    @settings(max_examples=50, deadline=None)
    @given(case_dicts(kb))
    def collect(data: dict[str, Any]) -> None:
        seen.update(data)

    collect()
    assert {"timeline", "criteria", "findings", "measures"} <= seen
