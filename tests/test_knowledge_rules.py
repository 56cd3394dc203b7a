"""Unit tests for every rule: a minimal case that fires it and a near miss that does not.

The table below covers drivers, origins, formulations, interventions, therapist, self-check and
measure rules; the spectrum and inconsistency rules' table is in test_rules_spectrum.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import KnowledgeBase, Report
from tests.test_rules_spectrum import CASES as SPECTRUM_CASES

Sections = dict[str, Any]


def merge(*parts: Sections) -> Sections:
    """Case sections merged section by section (later answers win)."""
    out: Sections = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict):
                out[key] = {**out.get(key, {}), **value}
            else:
                out[key] = value
    return out


def F(**answers: str) -> Sections:
    """A findings section (the short names keep the table below readable)."""
    return {"findings": answers}


def T(**answers: Any) -> Sections:
    return {"timeline": answers}


def C(**answers: str) -> Sections:
    return {"criteria": answers}


def M(**scores: int) -> Sections:
    return {"measures": scores}


P = "present"
SELF: Sections = {"subject": "clinician_self"}
UNDETERMINED: Sections = {}
ADAPTIVE = merge(T(stressor="ongoing"), C(situation_specific="yes"))
AT_RISK_WITHIN = merge(T(stressor="ongoing"), F(numbness=P))
AT_RISK_AFTER = T(stressor="ended", weeks_since_stressor_ended=20)
AT_RISK_UNTIMED = F(numbness=P)
MALADAPTIVE = merge(T(stressor="none", weeks_since_onset=30), F(numbness=P))

# rule id -> (sections that fire it, near-miss sections that do not)
CASES: dict[str, tuple[Sections, Sections]] = {
    # drivers
    "driver.alexithymia.identifying": (F(difficulty_identifying_feelings=P),
                                       F(difficulty_identifying_feelings="absent")),
    "driver.alexithymia.describing": (F(difficulty_describing_feelings=P),
                                      F(difficulty_describing_feelings="absent")),
    "driver.alexithymia.vocabulary": (F(limited_emotion_vocabulary=P),
                                      F(limited_emotion_vocabulary="absent")),
    "driver.alexithymia.tas20": (M(tas20_total=61), merge(M(tas20_total=61), F(depression=P))),
    "driver.avoidance.deliberate": (F(deliberate_distancing=P), F(deliberate_distancing="absent")),
    "driver.avoidance.beliefs": (F(believes_emotions_dangerous=P),
                                 F(believes_emotions_dangerous="absent")),
    "driver.avoidance.tension": (F(tension_when_emotions_arise=P, difficulty_identifying_feelings=P),
                                 F(tension_when_emotions_arise="absent")),
    "driver.avoidance.intellectualizing": (merge(F(intellectualized_speech=P), M(tas20_total=70)),
                                           F(intellectualized_speech="absent")),
    "driver.both": (F(difficulty_identifying_feelings=P, deliberate_distancing=P),
                    F(difficulty_identifying_feelings=P)),
    "dual.ptsd": (F(ptsd=P), F(ptsd="absent")),
    "dual.depression": (F(depression=P), F(depression="absent")),
    "dual.autism": (F(autism_spectrum=P), F(autism_spectrum="absent")),
    # origins
    "origin.trauma_attachment.early_disruption": (F(early_attachment_disruption=P),
                                                  F(early_attachment_disruption="absent")),
    "origin.trauma_attachment.complex_trauma": (F(complex_trauma=P), F(complex_trauma="absent")),
    "origin.trauma_attachment.precipitant": (T(precipitant="trauma"), T(precipitant="acute_crisis")),
    "origin.depression": (F(depression=P), F(depression="absent")),
    "origin.ptsd.diagnosis": (F(ptsd=P), F(ptsd="absent")),
    "origin.ptsd.explore_dissociation": (F(dissociative_responses=P),
                                         F(dissociative_responses=P, ptsd=P)),
    "origin.anxiety": (F(anxiety_disorder=P), F(anxiety_disorder="absent")),
    "origin.medication": (F(medication_blunting=P), F(medication_blunting="absent")),
    "origin.neurological": (F(neurological_condition=P), F(neurological_condition="absent")),
    "origin.professional_hazard.secondary_trauma": (F(secondary_trauma_exposure=P),
                                                    F(secondary_trauma_exposure="absent")),
    "origin.professional_hazard.compassion_fatigue": (F(compassion_fatigue=P),
                                                      F(compassion_fatigue="absent")),
    "origin.professional_hazard.occupational_precipitant": (T(precipitant="occupational_exposure"),
                                                            T(precipitant="chronic_stress")),
    "origin.situational_stress.loss_or_separation": (T(precipitant="separation"),
                                                     T(precipitant="trauma")),
    "origin.situational_stress.crisis_or_chronic_stress": (T(precipitant="acute_crisis"),
                                                           T(precipitant="medical")),
    # formulations
    "formulation.defense_based.trauma_attachment": (F(early_attachment_disruption=P),
                                                    F(emotions_dismissed_or_punished=P)),
    "formulation.defense_based.ptsd": (F(ptsd=P), F(dissociative_responses=P)),
    "formulation.defense_based.anxiety": (F(anxiety_disorder=P), F(anxiety_disorder="absent")),
    "formulation.neurobiological.medication": (F(medication_blunting=P), F(depression=P)),
    "formulation.neurobiological.neurological": (F(neurological_condition=P),
                                                 F(neurological_condition="absent")),
    "formulation.neurobiological.temperament": (F(innate_temperament=P),
                                                F(innate_temperament="absent")),
    "formulation.relational.dismissed": (F(emotions_dismissed_or_punished=P),
                                         F(early_attachment_disruption=P)),
    # interventions
    "plan.adaptive_support": (ADAPTIVE, merge(ADAPTIVE, SELF)),
    "plan.at_risk_within_situation": (AT_RISK_WITHIN, AT_RISK_AFTER),
    "plan.at_risk_timing_unclear": (AT_RISK_UNTIMED, AT_RISK_WITHIN),
    "plan.work.at_risk": (AT_RISK_AFTER, AT_RISK_WITHIN),
    "plan.work.maladaptive": (MALADAPTIVE, merge(MALADAPTIVE, SELF)),
    "plan.relational_stance": (AT_RISK_WITHIN, ADAPTIVE),
    "plan.alexithymia": (merge(MALADAPTIVE, F(difficulty_identifying_feelings=P)),
                         F(difficulty_identifying_feelings=P)),
    "plan.avoidance": (merge(MALADAPTIVE, F(deliberate_distancing=P)),
                       merge(ADAPTIVE, F(deliberate_distancing=P))),
    "plan.beliefs": (merge(MALADAPTIVE, F(believes_emotions_dangerous=P)),
                     merge(MALADAPTIVE, F(deliberate_distancing=P))),
    "plan.values": (merge(MALADAPTIVE, F(cannot_use_feelings_to_decide=P)), MALADAPTIVE),
    "plan.mindfulness": (merge(MALADAPTIVE, C(can_explain_distancing="no")),
                         merge(MALADAPTIVE, C(can_explain_distancing="yes"))),
    "plan.creative": (merge(MALADAPTIVE, F(intellectualized_speech=P)), F(intellectualized_speech=P)),
    "plan.defense_based": (merge(MALADAPTIVE, F(complex_trauma=P)), F(complex_trauma=P)),
    "plan.relational": (merge(MALADAPTIVE, F(emotions_dismissed_or_punished=P)),
                        merge(MALADAPTIVE, SELF, F(emotions_dismissed_or_punished=P))),
    "plan.medication": (F(medication_blunting=P), F(medication_blunting="absent")),
    "plan.neurological": (F(neurological_condition=P), F(neurological_condition="absent")),
    "plan.undetermined": (UNDETERMINED, ADAPTIVE),
    # therapist reactions and observations
    "therapist.working_harder": (F(therapist_working_harder=P), F(therapist_working_harder="absent")),
    "therapist.mirroring": (F(therapist_mirroring_detachment=P),
                            F(therapist_mirroring_detachment="absent")),
    "therapist.own_distancing": (F(intellectualizing_sessions=P),
                                 merge(SELF, F(intellectualizing_sessions=P))),
    "therapist.pushing": (F(therapist_pushing_expression=P), F(therapist_pushing_expression="absent")),
    "therapist.pushing_within_situation": (merge(ADAPTIVE, F(therapist_pushing_expression=P)),
                                           merge(AT_RISK_AFTER, F(therapist_pushing_expression=P))),
    "therapist.overwhelmed": (F(therapist_overwhelmed=P), F(therapist_overwhelmed="absent")),
    "observe.flat_affect": (F(flat_affect=P), F(flat_affect="absent")),
    "observe.eye_contact": (F(minimal_eye_contact=P), F(minimal_eye_contact="absent")),
    "observe.intellectualized": (F(intellectualized_speech=P), F(intellectualized_speech="absent")),
    "observe.tension": (F(tension_when_emotions_arise=P), F(tension_when_emotions_arise="absent")),
    "observe.discrepancy": (F(content_process_discrepancy=P), F(content_process_discrepancy="absent")),
    # clinician self-check
    "selfcheck.routine": (SELF, UNDETERMINED),
    "selfcheck.intellectualizing": (F(intellectualizing_sessions=P),
                                    F(intellectualizing_sessions="absent")),
    "selfcheck.disconnected": (F(disconnected_from_work=P), F(disconnected_from_work="absent")),
    "selfcheck.numbness_in_practice": (merge(SELF, F(numbness=P)), F(numbness=P)),
    "selfcheck.hazard_support": (merge(SELF, F(secondary_trauma_exposure=P)),
                                 F(secondary_trauma_exposure=P)),
    "selfcheck.own_detachment": (merge(SELF, F(disconnected_from_work=P)),
                                 merge(SELF, F(compassion_fatigue=P))),
    "selfcheck.adaptive": (merge(SELF, ADAPTIVE), merge(SELF, AT_RISK_WITHIN)),
    # measures: readings of given scores
    "interpret.tas20.non_alexithymic": (M(tas20_total=51), M(tas20_total=52)),
    "interpret.tas20.possible": (M(tas20_total=52), M(tas20_total=61)),
    "interpret.tas20.alexithymic": (M(tas20_total=61), M(tas20_total=60)),
    "interpret.tas20.depression_state": (merge(F(depression=P), M(tas20_total=40)), F(depression=P)),
    "interpret.ders18.total": (M(ders18_total=18), M(ders18_awareness=9)),
    "interpret.ders18.awareness": (M(ders18_awareness=3), M(ders18_total=40)),
    "interpret.ders18.clarity": (M(ders18_clarity=3), M(ders18_total=40)),
    # measures: when to suggest them
    "measure.tas20.alexithymia_features": (F(difficulty_identifying_feelings=P),
                                           merge(F(difficulty_identifying_feelings=P),
                                                 M(tas20_total=40))),
    "measure.tas20.dual_process": (F(autism_spectrum=P), merge(F(autism_spectrum=P), M(tas20_total=30))),
    "measure.tas20.tease_apart": (AT_RISK_AFTER, merge(AT_RISK_AFTER, F(deliberate_distancing=P))),
    "measure.tas20.depression_state": (F(depression=P), merge(F(depression=P), M(tas20_total=40))),
    "measure.ecs.tease_apart": (AT_RISK_AFTER,
                                merge(AT_RISK_AFTER, F(difficulty_identifying_feelings=P))),
    "measure.ecs.avoidance": (F(deliberate_distancing=P), F(difficulty_identifying_feelings=P)),
    "measure.ecs.relationships": (C(relationships_intact="no"), C(relationships_intact="yes")),
    "measure.ecs.observed_undetermined": (F(flat_affect=P), merge(ADAPTIVE, F(flat_affect=P))),
    "measure.ders18.regulation": (AT_RISK_AFTER, merge(AT_RISK_AFTER, M(ders18_total=40))),
}

# The spectrum and inconsistency rules' table lives beside their position tests.
ALL_CASES = {**CASES, **SPECTRUM_CASES}


def fired(report: Report) -> set[str]:
    return {step.rule for step in report.trace}


@pytest.mark.parametrize("rule_id", sorted(ALL_CASES))
def test_rule_fires_on_its_case_and_not_on_the_near_miss(
    rule_id: str, run_case: Callable[..., Report]
) -> None:
    hit, miss = ALL_CASES[rule_id]
    assert rule_id in fired(run_case(**hit)), "does not fire on its case"
    assert rule_id not in fired(run_case(**miss)), "fires on the near miss"


def test_every_rule_has_a_unit_test(kb: KnowledgeBase) -> None:
    rules = {r.id for r in kb.rules}
    assert not set(CASES) & set(SPECTRUM_CASES)
    assert rules == set(ALL_CASES), (sorted(rules - set(ALL_CASES)), sorted(set(ALL_CASES) - rules))


@pytest.mark.parametrize(("total", "band"), [
    (20, "tas20_non_alexithymic"), (51, "tas20_non_alexithymic"),
    (52, "tas20_possible_alexithymia"), (60, "tas20_possible_alexithymia"),
    (61, "tas20_alexithymic"), (100, "tas20_alexithymic"),
])
def test_tas20_bands_at_their_edges(total: int, band: str, run_case: Callable[..., Report]) -> None:
    report = run_case(measures={"tas20_total": total})
    assert [i.id for i in report.interpretations] == [band]
    assert report.interpretations[0].scores == {"tas20_total": total}
    assert ("alexithymia" in report.drivers) == (band == "tas20_alexithymic")


def test_ders18_scores_are_shown_and_never_change_a_conclusion(
        run_case: Callable[..., Report]) -> None:
    base = merge(MALADAPTIVE, F(difficulty_identifying_feelings=P))
    without = run_case(**base)
    readings = []
    for total, awareness, clarity in [(18, 3, 3), (54, 9, 9), (90, 15, 15)]:
        scores = {"ders18_total": total, "ders18_awareness": awareness, "ders18_clarity": clarity}
        report = run_case(**merge(base, M(**scores)))
        assert [i.id for i in report.interpretations] == ["ders18_scores"]
        assert report.interpretations[0].scores == scores
        readings.append(report)
    # Low and high scores give the same report apart from the scores themselves...
    dumps = [r.model_dump(exclude={"interpretations", "trace", "questions", "explanations"})
             for r in readings]
    assert dumps[0] == dumps[1] == dumps[2]
    # ...and the only difference from no score at all is that DERS-18 is no longer suggested.
    assert "ders18" in {m.id for m in without.measures}
    assert "ders18" not in {m.id for m in readings[0].measures}
    assert without.drivers == readings[0].drivers
    assert [r.id for r in without.recommendations] == [r.id for r in readings[0].recommendations]


def test_tas20_during_depression_is_cautioned_whether_given_or_suggested(
        run_case: Callable[..., Report]) -> None:
    given = run_case(findings={"depression": P}, measures={"tas20_total": 66})
    suggested = run_case(findings={"depression": P})
    for report in (given, suggested):
        assert "tas20_state_not_trait" in {c.id for c in report.cautions}
    assert "tas20" in {m.id for m in suggested.measures}
    assert "tas20" not in {m.id for m in given.measures}
    # During depression a TAS-20 of 61 or more alone does not set the alexithymia driver (it may
    # reflect the state); outside depression it does, and interview signs count either way.
    assert given.drivers == []
    assert run_case(measures={"tas20_total": 66}).drivers == ["alexithymia"]
    signs = run_case(findings={"depression": P, "difficulty_identifying_feelings": P},
                     measures={"tas20_total": 66})
    assert signs.drivers == ["alexithymia"]


def test_pushing_while_the_client_needs_defenses_is_critical(run_case: Callable[..., Report]) -> None:
    report = run_case(**merge(ADAPTIVE, F(therapist_pushing_expression=P)))
    assert report.cautions[0].id == "pushing_destabilizes"
    assert report.cautions[0].level == "critical"
    later = run_case(**merge(MALADAPTIVE, F(therapist_pushing_expression=P)))
    assert "pushing_destabilizes" not in {c.id for c in later.cautions}
    assert "forcing_expression_backfires" in {c.id for c in later.cautions}


def test_both_drivers_at_once(run_case: Callable[..., Report]) -> None:
    report = run_case(**merge(MALADAPTIVE, F(limited_emotion_vocabulary=P, believes_emotions_dangerous=P)))
    assert report.drivers == ["alexithymia", "avoidance"]
    recs = {r.id for r in report.recommendations}
    assert {"structured_awareness_tools", "interoceptive_exercises", "affect_labeling",
            "safety_first", "explore_function", "graded_reengagement"} <= recs
    assert "address_access_and_willingness" in {c.id for c in report.cautions}
