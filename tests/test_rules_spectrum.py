"""Each spectrum and inconsistency rule: a case that fires it and a near miss (the table, run
with the other rules' table in test_knowledge_rules.py), and the positions they give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import Report

P = "present"
ONGOING = {"timeline": {"stressor": "ongoing"}}
PERSISTS = {"timeline": {"stressor": "ended", "weeks_since_stressor_ended": 20}}
CHRONIC = {"timeline": {"stressor": "ongoing", "weeks_since_onset": 60}}


def t(**answers: Any) -> dict[str, Any]:
    return {"timeline": answers}


def with_(base: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A case's sections with more answers merged in, section by section."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, answers in sections.items():
        out[key] = {**out.get(key, {}), **answers}
    return out


def c(**answers: str) -> dict[str, Any]:
    return {"criteria": answers}


def f(**answers: str) -> dict[str, Any]:
    return {"findings": answers}


BEREAVED_2_WEEKS = t(precipitant="bereavement", stressor="ended", weeks_since_stressor_ended=2)
RECENTLY_ENDED = t(stressor="ended", weeks_since_stressor_ended=4)

# rule id -> (sections that fire it, near-miss sections that do not)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # context
    "context.bereavement": (t(precipitant="bereavement"), t(precipitant="separation")),
    "context.situation_ended": (t(stressor="ended"), t(stressor="ongoing")),
    "context.relationships_in_context": (c(affected_relationships_in_context="yes"),
                                         c(affected_relationships_in_context="partly")),
    "context.separation": (t(precipitant="separation"), t(precipitant="separation", stressor="ended")),
    "context.relationships_outside_affected": (c(affected_relationships_in_context="no"),
                                               c(affected_relationships_in_context="yes")),
    "context.autism": (f(autism_spectrum=P), f(autism_spectrum="absent")),
    # the course by the clock
    "course.during_situation": (ONGOING, CHRONIC),
    "course.chronic": (t(stressor="ongoing", weeks_since_onset=26),
        t(stressor="ongoing", weeks_since_onset=25)),
    "course.recent_onset": (t(weeks_since_onset=11), t(weeks_since_onset=12)),
    "course.ended_recently": (t(stressor="ended", weeks_since_stressor_ended=11),
                              t(stressor="ended", weeks_since_stressor_ended=11, precipitant="bereavement")),
    "course.ended_long_ago": (t(stressor="ended", weeks_since_stressor_ended=12),
                              t(stressor="ended", weeks_since_stressor_ended=11)),
    "course.loss_recent": (t(precipitant="bereavement", stressor="ended", weeks_since_stressor_ended=25),
                           t(precipitant="bereavement", stressor="ended", weeks_since_stressor_ended=26)),
    "course.loss_recent_by_onset": (t(precipitant="bereavement", weeks_since_onset=25),
                                    t(precipitant="bereavement", weeks_since_onset=25, stressor="ended")),
    "course.loss_long_ago": (t(precipitant="bereavement", stressor="ended", weeks_since_stressor_ended=26),
                             t(precipitant="bereavement", stressor="ended", weeks_since_stressor_ended=25)),
    "course.loss_long_ago_by_onset": (t(precipitant="bereavement", weeks_since_onset=26),
                                      t(precipitant="bereavement", weeks_since_onset=26, stressor="ended")),
    "course.early_grief": (t(precipitant="bereavement", stressor="ended", weeks_since_stressor_ended=11),
                           t(precipitant="bereavement", stressor="ended", weeks_since_stressor_ended=12)),
    "course.early_grief_by_onset": (t(precipitant="bereavement", weeks_since_onset=11),
                                    t(precipitant="bereavement", weeks_since_onset=12)),
    "course.no_threat_long": (t(stressor="none", weeks_since_onset=12),
        t(stressor="none", weeks_since_onset=11)),
    "course.lifelong": (t(duration="lifelong"),
        with_(t(duration="lifelong"), findings={"autism_spectrum": P})),
    # the course without a clock
    "course.complex_trauma": (f(complex_trauma=P),
        with_(f(complex_trauma=P), timeline={"weeks_since_onset": 4})),
    "course.inaccessible_when_safe": (c(emotions_accessible_when_safe="no"),
                                      with_(RECENTLY_ENDED, criteria=c(emotions_accessible_when_safe="no")[
                                          "criteria"])),
    "course.ended_no_reconnect": (with_(t(stressor="ended"), criteria={"reconnects_when_safe": "no"}),
                                  with_(RECENTLY_ENDED, criteria={"reconnects_when_safe": "no"})),
    "course.chronic_spreads": (with_(CHRONIC, criteria={"situation_specific": "no"}),
                               with_(CHRONIC, criteria={"situation_specific": "partly"})),
    "course.chronic_no_reconnect": (with_(CHRONIC, criteria={"reconnects_when_safe": "no"}),
                                    with_(CHRONIC, criteria={"reconnects_when_safe": "partly"})),
    "course.chronic_confined": (
        with_(CHRONIC, criteria={"situation_specific": "yes", "reconnects_when_safe": "yes"}),
        with_(CHRONIC, criteria={"situation_specific": "yes", "reconnects_when_safe": "partly"})),
    "course.chronic_partly_confined": (with_(CHRONIC, criteria={"situation_specific": "partly"}),
                                       with_(CHRONIC, criteria={"situation_specific": "yes"})),
    "course.chronic_partly_reconnects": (with_(CHRONIC, criteria={"reconnects_when_safe": "partly"}),
                                         with_(CHRONIC, criteria={"reconnects_when_safe": "yes"})),
    # the frame
    "frame.during_situation": (ONGOING, with_(ONGOING, criteria={"emotions_accessible_when_safe": "no"})),
    "frame.aftermath": (RECENTLY_ENDED, with_(RECENTLY_ENDED, timeline={"duration": "lifelong"})),
    "frame.confined_chronic": (
        with_(CHRONIC, criteria={"situation_specific": "yes", "reconnects_when_safe": "yes"}),
        with_(CHRONIC, criteria={"situation_specific": "yes", "reconnects_when_safe": "yes",
                                 "emotions_accessible_when_safe": "no"})),
    # arguments: markers
    "weigh.situation_specific": (c(situation_specific="yes"), c(situation_specific="partly")),
    "weigh.not_situation_specific": (c(situation_specific="no"), c(situation_specific="partly")),
    "weigh.can_explain": (c(can_explain_distancing="yes"), c(can_explain_distancing="unknown")),
    "weigh.cannot_explain": (c(can_explain_distancing="no"), c(can_explain_distancing="yes")),
    "weigh.aware_of_state": (c(aware_of_emotional_state="yes"), c(aware_of_emotional_state="partly")),
    "weigh.unaware_of_state": (c(aware_of_emotional_state="no"), c(aware_of_emotional_state="partly")),
    "weigh.reconnects": (c(reconnects_when_safe="yes"), c(reconnects_when_safe="no")),
    "weigh.does_not_reconnect": (c(reconnects_when_safe="no"), c(reconnects_when_safe="partly")),
    "weigh.relationships_intact": (c(relationships_intact="yes"), c(relationships_intact="no")),
    "weigh.relationships_harmed": (c(relationships_intact="no"),
                                   c(relationships_intact="no", affected_relationships_in_context="yes")),
    "weigh.accessible_when_safe": (c(emotions_accessible_when_safe="yes"),
        c(emotions_accessible_when_safe="no")),
    "weigh.inaccessible_when_safe": (c(emotions_accessible_when_safe="no"),
                                     c(emotions_accessible_when_safe="partly")),
    # arguments: signs (not in the first weeks after a death)
    "weigh.numbness": (f(numbness=P), with_(BEREAVED_2_WEEKS, findings={"numbness": P})),
    "weigh.behind_glass": (f(behind_glass=P), with_(BEREAVED_2_WEEKS, findings={"behind_glass": P})),
    "weigh.chronic_emptiness": (f(chronic_emptiness=P),
        with_(BEREAVED_2_WEEKS, findings={"chronic_emptiness": P})),
    "weigh.positive_emotions_muted": (f(positive_emotions_muted=P), f(negative_emotions_muted=P)),
    "weigh.negative_emotions_muted": (f(negative_emotions_muted=P),
                                      with_(BEREAVED_2_WEEKS, findings={"negative_emotions_muted": P})),
    "weigh.partner_shut_out": (f(partner_feels_shut_out=P),
                               f(partner_feels_shut_out=P) | c(affected_relationships_in_context="yes")),
    "weigh.confused_by_absent_feelings": (
        f(confused_by_absent_feelings=P),
        with_(BEREAVED_2_WEEKS, findings={"confused_by_absent_feelings": P})),
    "weigh.cannot_use_feelings": (f(cannot_use_feelings_to_decide=P),
        f(cannot_use_feelings_to_decide="absent")),
    "weigh.grief_unprocessed": (with_(PERSISTS, findings={"grief_unprocessed": P}),
                                with_(ONGOING, findings={"grief_unprocessed": P})),
    "weigh.declines_comfort": (with_(PERSISTS, findings={"declines_comfort": P}),
                               with_(ONGOING, findings={"declines_comfort": P})),
    # position
    "spectrum.maladaptive.outweighs": (with_(PERSISTS, findings={"numbness": P}),
                                       with_(PERSISTS, findings={"numbness": P},
                                             criteria={"can_explain_distancing": "yes"})),
    "spectrum.at_risk.outlasts_balanced": (
        with_(PERSISTS, findings={"numbness": P}, criteria={"can_explain_distancing": "yes"}),
        with_(PERSISTS, findings={"numbness": P})),
    "spectrum.at_risk.outlasts_without_signs": (PERSISTS,
        with_(PERSISTS, criteria={"reconnects_when_safe": "yes"})),
    "spectrum.adaptive.reconnected": (with_(PERSISTS, criteria={"reconnects_when_safe": "yes"}),
                                      with_(PERSISTS, criteria={"reconnects_when_safe": "yes"},
                                            findings={"numbness": P})),
    "spectrum.at_risk.within_outweighs": (with_(ONGOING, findings={"numbness": P}),
                                          with_(ONGOING, findings={"numbness": P},
                                                criteria={"can_explain_distancing": "yes"})),
    "spectrum.adaptive.within": (with_(ONGOING, criteria={"can_explain_distancing": "yes"}), ONGOING),
    "spectrum.undetermined.no_markers": (ONGOING, with_(ONGOING, criteria={"can_explain_distancing": "yes"})),
    "spectrum.at_risk.timing_unclear": (f(numbness=P, chronic_emptiness=P), f(numbness=P)),
    "spectrum.at_risk.chronic_partly": (with_(CHRONIC, criteria={"situation_specific": "partly"}),
                                        with_(CHRONIC, criteria={"situation_specific": "yes"})),
    "spectrum.undetermined": ({}, ONGOING),
    # inconsistencies
    "inconsistency.relationships_intact_but_partner_shut_out": (
        {"criteria": {"relationships_intact": "yes"}, "findings": {"partner_feels_shut_out": P}},
        {"timeline": {"precipitant": "separation"}, "criteria": {"relationships_intact": "yes"},
         "findings": {"partner_feels_shut_out": P}}),
    "inconsistency.precipitant_but_no_stressor": (
        {"timeline": {"precipitant": "bereavement", "stressor": "none"}},
        {"timeline": {"precipitant": "none_identified", "stressor": "none"}}),
    "inconsistency.reconnects_but_inaccessible_when_safe": (
        {"criteria": {"reconnects_when_safe": "yes", "emotions_accessible_when_safe": "no"}},
        {"criteria": {"reconnects_when_safe": "yes", "emotions_accessible_when_safe": "partly"}}),
    "inconsistency.aware_but_confused": (
        {"criteria": {"aware_of_emotional_state": "yes"}, "findings": {"confused_by_absent_feelings": P}},
        {"criteria": {"aware_of_emotional_state": "partly"}, "findings": {"confused_by_absent_feelings": P}}),
}


@pytest.mark.parametrize(("sections", "position"), [
    ({}, "undetermined"),
    (ONGOING, "undetermined"),
    (with_(ONGOING, criteria={"can_explain_distancing": "yes"}), "adaptive"),
    (with_(ONGOING, criteria={"can_explain_distancing": "yes"}, findings={"numbness": P}), "adaptive"),
    (with_(ONGOING, findings={"numbness": P}), "at_risk"),
    (with_(PERSISTS, findings={"numbness": P}), "maladaptive"),
    (PERSISTS, "at_risk"),
    (with_(PERSISTS, criteria={"reconnects_when_safe": "yes"}), "adaptive"),
    (t(stressor="none", weeks_since_onset=4, ) | f(numbness=P), "undetermined"),
    (t(stressor="none", weeks_since_onset=4) | f(numbness=P, chronic_emptiness=P), "at_risk"),
    (with_(ONGOING, criteria={"situation_specific": "partly"}), "undetermined"),
    (t(duration="lifelong") | f(numbness=P), "maladaptive"),
    (with_(BEREAVED_2_WEEKS, findings={"numbness": P}, criteria={"can_explain_distancing": "yes"}),
     "adaptive"),
])
def test_positions(sections: dict[str, Any], position: str, run_case: Callable[..., Report]) -> None:
    report = run_case(**sections)
    assert report.spectrum.position == position


def test_evidence_for_and_against(run_case: Callable[..., Report]) -> None:
    report = run_case(timeline={"stressor": "ongoing"},
                      criteria={"situation_specific": "yes"}, findings={"numbness": "present"})
    assert report.spectrum.position == "adaptive"
    assert sorted(e.id for e in report.spectrum.evidence_for) == ["situation_specific", "time_limited"]
    assert [e.id for e in report.spectrum.against] == ["numbing"]
    assert report.to_json_dict()["spectrum"]["against"][0]["because"] == ["weigh.numbness"]
