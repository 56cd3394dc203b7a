"""Invariants of the clinical plan over random valid cases (hypothesis): recommendations are
targeted by position and subject, never fired for every case."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from engine import assess, default_knowledge_base, parse_case
from engine.inference import Evaluator
from tests.strategies import case_dicts

KB = default_knowledge_base()
EVALUATOR = Evaluator(KB)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Work on the client's detachment: chosen by driver and formulation, only once it is a (risk of a)
# pattern, and never for a clinician's self-check.
THERAPY = {"relational_stance", "emotional_awareness", "safety_reengagement", "act",
           "cbt_psychodynamic", "experiential"}
# The clinician's own care (peer supervision may also follow a therapist's overwhelm with a client).
SELF_CARE = {"self_care_plan", "emotional_outlets", "boundary_maintenance", "self_compassion"}


@SETTINGS
@given(case_dicts(KB))
def test_recommendations_follow_position_and_subject(data: dict[str, Any]) -> None:
    report = assess(parse_case(data, KB), EVALUATOR)
    approaches = {r.approach for r in report.recommendations}
    ids = {r.id for r in report.recommendations}
    cautions = {c.id for c in report.cautions}
    if approaches & THERAPY:
        assert report.subject == "client"
        # a possible medical cause brings the relational stance with its review, whatever the position
        assert report.spectrum.position in ("at_risk", "maladaptive") or "medical_review_first" in cautions
        assert {"safe_curiosity", "calibrated_pacing", "consistent_warmth"} <= ids
        assert "forcing_expression_backfires" in cautions
    if report.spectrum.position == "adaptive" and report.subject == "client":
        assert "supportive_monitoring" in ids
        assert "do_not_challenge_adaptive" in cautions
    if report.spectrum.position == "undetermined":
        assert "place_on_spectrum_first" in cautions
    if ids & SELF_CARE:
        # the clinician's own resilience: a self-check, or a client who is a clinician
        works = data.get("findings", {}).get("works_as_clinician") == "present"
        assert report.subject == "clinician_self" or works
    if "supportive_monitoring" in ids:
        assert report.spectrum.position == "adaptive"


@SETTINGS
@given(case_dicts(KB))
def test_driver_recommendations_need_their_driver(data: dict[str, Any]) -> None:
    report = assess(parse_case(data, KB), EVALUATOR)
    ids = {r.id for r in report.recommendations}
    if ids & {"structured_awareness_tools", "interoceptive_exercises", "affect_labeling"}:
        assert "alexithymia" in report.drivers
    if ids & {"explore_function", "graded_reengagement", "act_willingness"}:
        assert "avoidance" in report.drivers
    if "safety_first" in ids:
        assert "avoidance" in report.drivers or "defense_based" in report.formulations
    if ids & {"psychodynamic_exploration", "imagery"}:
        assert "defense_based" in report.formulations
    if "schema_work" in ids:
        assert "relational" in report.formulations
    if "prescriber_review" in ids:
        assert "medication" in report.origins
    if "neurological_review" in ids:
        assert "neurological" in report.origins
