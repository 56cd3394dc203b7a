"""Scenario tests: every vignette in knowledge_base/vignettes/ reaches its expected conclusions."""

from __future__ import annotations

import pytest

from engine import KnowledgeBase, assess, parse_case
from engine.inference import Evaluator
from engine.vignettes import Vignette, default_vignettes

VIGNETTES = default_vignettes()


@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.id for v in VIGNETTES])
def test_vignette_conclusions_and_reasons(vignette: Vignette, evaluator: Evaluator) -> None:
    report = assess(parse_case(vignette.case, evaluator.kb), evaluator)
    exp = vignette.expect
    assert report.spectrum.position == exp.position
    for field in ("drivers", "formulations", "origins"):
        expected = getattr(exp, field)
        if expected is not None:
            assert sorted(getattr(report, field)) == sorted(expected), field
    for field in ("recommendations", "cautions", "reflections", "measures", "interpretations",
                  "inconsistencies"):
        got = {item.id for item in getattr(report, field)}
        missing = set(getattr(exp, field)) - got
        assert not missing, f"{field}: missing {sorted(missing)}"
    fired = {step.rule for step in report.trace}
    assert set(exp.fired) <= fired, f"key reasons missing: {sorted(set(exp.fired) - fired)}"
    assert not set(exp.not_fired) & fired, f"fired but should not: {sorted(set(exp.not_fired) & fired)}"


def test_vignette_expectations_name_known_ids(kb: KnowledgeBase) -> None:
    rule_ids = {r.id for r in kb.rules}
    for v in VIGNETTES:
        e = v.expect
        assert e.position in kb.catalogue["spectrum"], v.id
        kinds = {"drivers": "driver", "formulations": "formulation", "origins": "origin",
                 "recommendations": "recommendation", "cautions": "caution",
                 "reflections": "reflection", "measures": "measure",
                 "interpretations": "interpretation", "inconsistencies": "inconsistency"}
        for field, kind in kinds.items():
            for ident in getattr(e, field) or ():
                assert ident in kb.catalogue[kind], f"{v.id}: unknown {kind} {ident}"
        for rid in (*e.fired, *e.not_fired):
            assert rid in rule_ids, f"{v.id}: unknown rule {rid}"
