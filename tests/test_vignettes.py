"""Scenario tests: every vignette in knowledge_base/vignettes/ reaches its expected conclusions,
for the reasons it names (rules that fire, and passages of the source the reasoning cites)."""

from __future__ import annotations

import re

import pytest

from engine import KnowledgeBase, assess, parse_case
from engine.inference import Evaluator
from engine.vignettes import Vignette, default_vignettes

VIGNETTES = default_vignettes()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().replace("\u2019", "'")


@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.id for v in VIGNETTES])
def test_vignette_conclusions_and_reasons(vignette: Vignette, evaluator: Evaluator) -> None:
    exp = vignette.expect
    stable = vignette.expected("stable")
    report = assess(parse_case(vignette.case, evaluator.kb), evaluator, explain=stable is not None)
    if vignette.expected("position") is not None:
        assert report.spectrum.position == vignette.expected("position")
    for field in ("drivers", "formulations", "origins"):
        expected = vignette.expected(field)
        if expected is not None:
            assert sorted(getattr(report, field)) == sorted(expected), field
    for field in ("recommendations", "cautions", "reflections", "measures", "interpretations",
                  "inconsistencies"):
        got = {item.id for item in getattr(report, field)}
        wanted = vignette.expected(field) if field in ("recommendations", "measures") else getattr(exp, field)
        missing = set(wanted) - got
        assert not missing, f"{field}: missing {sorted(missing)}"
    unwanted = set(vignette.expected("not_recommendations")) & {r.id for r in report.recommendations}
    assert not unwanted, f"recommended but should not be: {sorted(unwanted)}"
    fired = {step.rule for step in report.trace}
    assert set(exp.fired) <= fired, f"key reasons missing: {sorted(set(exp.fired) - fired)}"
    assert not set(exp.not_fired) & fired, f"fired but should not: {sorted(set(exp.not_fired) & fired)}"
    cited = [_norm(step.source.quote) for step in report.trace]
    for reason in vignette.expected("reasons"):
        assert any(_norm(reason) in q or q in _norm(reason) for q in cited), f"reason not cited: {reason}"
    if stable is not None:
        assert report.explanations["robustness"]["stable"] is stable


def test_vignette_expectations_name_known_ids(kb: KnowledgeBase) -> None:
    rule_ids = {r.id for r in kb.rules}
    for v in VIGNETTES:
        e = v.expect
        assert e.position is None or e.position in kb.catalogue["spectrum"], v.id
        kinds = {"drivers": "driver", "formulations": "formulation", "origins": "origin",
                 "recommendations": "recommendation", "not_recommendations": "recommendation",
                 "cautions": "caution", "reflections": "reflection", "measures": "measure",
                 "interpretations": "interpretation", "inconsistencies": "inconsistency"}
        for field, kind in kinds.items():
            for ident in getattr(e, field) or ():
                assert ident in kb.catalogue[kind], f"{v.id}: unknown {kind} {ident}"
        for rid in (*e.fired, *e.not_fired):
            assert rid in rule_ids, f"{v.id}: unknown rule {rid}"


def test_independent_vignettes_are_kept_as_their_author_wrote_them() -> None:
    # The reviewer's expectations are the measure of agreement: a kept disagreement is a dissent
    # with its argument, never an edited expectation.
    independent = [v for v in VIGNETTES if v.author == "independent_review"]
    assert len(independent) >= 20
    for v in independent:
        assert not v.expect.fired and not v.expect.not_fired, v.id
        for d in v.dissent:
            assert d.engine != getattr(v.expect, d.item), v.id
