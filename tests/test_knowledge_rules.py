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
RECENTLY_ENDED = T(stressor="ended", weeks_since_stressor_ended=4)
SELF: Sections = {"subject": "clinician_self"}
UNDETERMINED: Sections = {}
ADAPTIVE = merge(T(stressor="ongoing"), C(situation_specific="yes"))
AT_RISK_WITHIN = merge(T(stressor="ongoing"), F(numbness=P))
AT_RISK_AFTER = T(stressor="ended", weeks_since_stressor_ended=20)
AT_RISK_UNTIMED = F(numbness=P, chronic_emptiness=P)
MALADAPTIVE = merge(T(stressor="none", weeks_since_onset=30), F(numbness=P))

# rule id -> (sections that fire it, near-miss sections that do not)
CASES: dict[str, tuple[Sections, Sections]] = {
    # drivers: arguments and the converging evidence
    "weigh.difficulty_identifying": (F(difficulty_identifying_feelings=P),
                                     F(difficulty_identifying_feelings="absent")),
    "weigh.identifies_feelings": (F(difficulty_identifying_feelings="absent"),
                                  F(difficulty_identifying_feelings=P)),
    "weigh.difficulty_describing": (F(difficulty_describing_feelings=P),
                                    F(difficulty_describing_feelings="absent")),
    "weigh.describes_feelings": (F(difficulty_describing_feelings="absent"),
                                 F(difficulty_describing_feelings=P)),
    "weigh.limited_vocabulary": (F(limited_emotion_vocabulary=P), F(limited_emotion_vocabulary="absent")),
    "weigh.tas20_alexithymic": (M(tas20_total=61), M(tas20_total=60)),
    "weigh.tas20_possible": (M(tas20_total=52), M(tas20_total=61)),
    "weigh.tas20_non_alexithymic": (M(tas20_total=51), M(tas20_total=52)),
    "weigh.deliberate_distancing": (F(deliberate_distancing=P), F(deliberate_distancing="absent")),
    "weigh.no_deliberate_distancing": (F(deliberate_distancing="absent"), F(deliberate_distancing=P)),
    "weigh.beliefs_dangerous": (F(believes_emotions_dangerous=P), F(believes_emotions_dangerous="absent")),
    "weigh.no_dangerous_beliefs": (F(believes_emotions_dangerous="absent"), F(believes_emotions_dangerous=P)),
    "weigh.anxiety_avoids_intensity": (F(anxiety_disorder=P), F(anxiety_disorder="absent")),
    "driver.alexithymia": (F(difficulty_identifying_feelings=P, difficulty_describing_feelings=P),
                           F(difficulty_identifying_feelings=P)),
    "driver.avoidance": (F(deliberate_distancing=P),
                         F(deliberate_distancing=P, believes_emotions_dangerous="absent")),
    "driver.both": (F(difficulty_identifying_feelings=P, difficulty_describing_feelings=P,
                      deliberate_distancing=P),
                    F(difficulty_identifying_feelings=P, difficulty_describing_feelings=P)),
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
    "origin.medication": (F(medication_blunting=P),
                          merge(F(medication_blunting=P), T(blunting_onset="with_low_mood"))),
    "origin.blunting_with_low_mood": (merge(F(medication_blunting=P), T(blunting_onset="with_low_mood")),
                                      merge(F(medication_blunting=P), T(blunting_onset="after_medication"))),
    "origin.professional_hazard.burnout": (merge(T(precipitant="burnout"), F(works_as_clinician=P)),
                                           T(precipitant="burnout")),
    "origin.situational_stress.burnout": (T(precipitant="burnout"),
                                          merge(T(precipitant="burnout"), F(works_as_clinician=P))),
    "occupation.works_as_clinician": (F(works_as_clinician=P), F(works_as_clinician="absent")),
    "formulation.medical_cause.medication": (F(medication_blunting=P), F(medication_blunting="absent")),
    "formulation.medical_cause.neurological": (F(neurological_condition=P),
                                               F(neurological_condition="absent")),
    "formulation.medical_cause_only": (F(medication_blunting=P), F(medication_blunting=P, complex_trauma=P)),
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
    "plan.reassess_during_situation": (ADAPTIVE, merge(RECENTLY_ENDED, C(situation_specific="yes"))),
    "plan.reassess_at_persistence": (RECENTLY_ENDED, merge(RECENTLY_ENDED, T(precipitant="bereavement"))),
    "plan.reassess_after_loss": (merge(RECENTLY_ENDED, T(precipitant="bereavement")), RECENTLY_ENDED),
    "plan.at_risk_within_situation": (AT_RISK_WITHIN, merge(AT_RISK_WITHIN, F(medication_blunting=P))),
    "plan.do_not_ignore_chronic": (MALADAPTIVE, merge(MALADAPTIVE, F(medication_blunting=P))),
    "plan.medical_review_first": (F(medication_blunting=P), F(medication_blunting=P, complex_trauma=P)),
    "plan.map_triggers": (AT_RISK_WITHIN, merge(AT_RISK_WITHIN, F(triggers_identified=P))),
    "plan.triggers_mapped": (F(triggers_identified=P), F(triggers_identified="absent")),
    "plan.pace_without_protective_factors": (merge(MALADAPTIVE, F(protective_factors_identified="absent")),
                                             merge(MALADAPTIVE, F(protective_factors_identified=P))),
    "plan.defense_safety": (merge(MALADAPTIVE, F(complex_trauma=P)),
                            merge(SELF, MALADAPTIVE, F(complex_trauma=P))),
    "plan.at_risk_timing_unclear": (AT_RISK_UNTIMED, AT_RISK_WITHIN),
    "plan.work.at_risk": (AT_RISK_AFTER, AT_RISK_WITHIN),
    "plan.work.maladaptive": (MALADAPTIVE, merge(MALADAPTIVE, SELF)),
    "plan.relational_stance": (AT_RISK_WITHIN, ADAPTIVE),
    "plan.alexithymia": (merge(MALADAPTIVE, F(difficulty_identifying_feelings=P,
                                              difficulty_describing_feelings=P)),
                         F(difficulty_identifying_feelings=P, difficulty_describing_feelings=P)),
    "plan.avoidance": (merge(MALADAPTIVE, F(deliberate_distancing=P)),
                       merge(ADAPTIVE, F(deliberate_distancing=P))),
    "plan.beliefs": (merge(MALADAPTIVE, F(believes_emotions_dangerous=P)),
                     merge(MALADAPTIVE, F(deliberate_distancing=P))),
    "plan.values": (merge(MALADAPTIVE, F(cannot_use_feelings_to_decide=P)), MALADAPTIVE),
    "plan.mindfulness": (merge(MALADAPTIVE, C(aware_of_emotional_state="no")),
                         merge(MALADAPTIVE, C(aware_of_emotional_state="yes"))),
    "plan.mindfulness_unexplained": (merge(MALADAPTIVE, C(can_explain_distancing="no")),
                                     merge(MALADAPTIVE, C(can_explain_distancing="yes"))),
    "plan.creative": (merge(MALADAPTIVE, F(intellectualized_speech=P)), F(intellectualized_speech=P)),
    "plan.defense_based": (merge(MALADAPTIVE, F(complex_trauma=P)),
                           merge(SELF, MALADAPTIVE, F(complex_trauma=P))),
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
    "therapist.seems_resistant": (F(seems_resistant=P), F(seems_resistant="absent")),
    "occupation.clinician_client": (merge(T(precipitant="occupational_exposure"), F(works_as_clinician=P)),
                                    F(works_as_clinician=P)),
    "observe.autistic_client": (F(autism_spectrum=P, flat_affect=P), F(autism_spectrum=P)),
    "observe.expression_not_access": (F(feels_but_does_not_show=P), F(feels_but_does_not_show="absent")),
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
    "interpret.ders18.total": (M(ders18_total=18), M(ders18_awareness=9)),
    "interpret.ders18.awareness": (M(ders18_awareness=3), M(ders18_total=40)),
    "interpret.ders18.clarity": (M(ders18_clarity=3), M(ders18_total=40)),
    # measures: when to suggest them
    "measure.tas20.alexithymia_features": (F(difficulty_identifying_feelings=P,
                                             difficulty_describing_feelings=P),
                                           merge(F(difficulty_identifying_feelings=P,
                                                   difficulty_describing_feelings=P),
                                                 M(tas20_total=55))),
    "measure.tas20.general_indicators": (F(flat_affect=P), merge(F(flat_affect=P), M(tas20_total=40))),
    "measure.ecs.family": (F(emotions_dismissed_or_punished=P), F(early_attachment_disruption=P)),
    "measure.tas20.dual_process": (F(autism_spectrum=P), merge(F(autism_spectrum=P), M(tas20_total=30))),
    "measure.tas20.tease_apart": (AT_RISK_AFTER, merge(AT_RISK_AFTER, F(deliberate_distancing=P))),
    "measure.ecs.avoidance": (F(deliberate_distancing=P), F(difficulty_identifying_feelings=P)),
    "measure.ecs.relationships": (C(relationships_intact="no"), C(relationships_intact="yes")),
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
    # Low and high scores give the same report apart from the scores themselves (and the answers)
    dumps = [r.model_dump(exclude={"answers", "interpretations", "trace", "questions", "explanations"})
             for r in readings]
    assert dumps[0] == dumps[1] == dumps[2]
    # ...and the only difference from no score at all is that DERS-18 is no longer suggested.
    assert "ders18" in {m.id for m in without.measures}
    assert "ders18" not in {m.id for m in readings[0].measures}
    assert without.drivers == readings[0].drivers
    assert [r.id for r in without.recommendations] == [r.id for r in readings[0].recommendations]


def test_regression_tas20_is_read_the_same_during_depression(run_case: Callable[..., Report]) -> None:
    # Issue 9, invented content: the source's depression line makes no psychometric claim, so a
    # TAS-20 is neither discounted nor cautioned during depression (both processes are assessed).
    depressed = run_case(findings={"depression": P}, measures={"tas20_total": 66})
    assert depressed.drivers == run_case(measures={"tas20_total": 66}).drivers == ["alexithymia"]
    assert "assess_both_processes" in {c.id for c in depressed.cautions}
    assert "tas20" in {m.id for m in run_case(findings={"depression": P}).measures}


def test_pushing_while_the_client_needs_defenses_is_critical(run_case: Callable[..., Report]) -> None:
    report = run_case(**merge(ADAPTIVE, F(therapist_pushing_expression=P)))
    assert report.cautions[0].id == "pushing_destabilizes"
    assert report.cautions[0].level == "critical"
    later = run_case(**merge(MALADAPTIVE, F(therapist_pushing_expression=P)))
    assert "pushing_destabilizes" not in {c.id for c in later.cautions}
    assert "forcing_expression_backfires" in {c.id for c in later.cautions}


def test_both_drivers_at_once(run_case: Callable[..., Report]) -> None:
    report = run_case(**merge(MALADAPTIVE, F(limited_emotion_vocabulary=P, difficulty_identifying_feelings=P,
                                             deliberate_distancing=P)))
    assert report.drivers == ["alexithymia", "avoidance"]
    recs = {r.id for r in report.recommendations}
    assert {"structured_awareness_tools", "interoceptive_exercises", "affect_labeling",
            "safety_first", "explore_function", "graded_reengagement"} <= recs
    assert "address_access_and_willingness" in {c.id for c in report.cautions}
