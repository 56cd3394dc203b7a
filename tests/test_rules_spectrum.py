"""Each spectrum and inconsistency rule: a case that fires it and a near miss (the table, run
with the other rules' table in test_knowledge_rules.py), and the positions they give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import Report

ENDED = {"stressor": "ended"}
ONGOING = {"timeline": {"stressor": "ongoing"}}
PERSISTS = {"timeline": {"stressor": "ended", "weeks_since_stressor_ended": 20}}
CHRONIC = {"timeline": {"stressor": "ongoing", "weeks_since_onset": 60}}

# rule id -> (sections that fire it, near-miss sections that do not)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "timeline.situation_ongoing": (ONGOING, {"timeline": {"stressor": "ongoing", "weeks_since_onset": 26}}),
    "timeline.chronic_course": ({"timeline": {"stressor": "ongoing", "weeks_since_onset": 26}},
                                {"timeline": {"stressor": "ongoing", "weeks_since_onset": 25}}),
    "timeline.chronic_but_confined": (
        {**CHRONIC, "criteria": {"situation_specific": "yes", "reconnects_when_safe": "yes"}},
        {**CHRONIC, "criteria": {"situation_specific": "yes", "reconnects_when_safe": "partly"}}),
    "timeline.chronic_ingrained": (
        {**CHRONIC, "criteria": {"situation_specific": "yes"}},
        {**CHRONIC, "criteria": {"situation_specific": "yes", "reconnects_when_safe": "yes"}}),
    "timeline.situation_recently_ended": (
        {"timeline": {**ENDED, "weeks_since_stressor_ended": 11}},
        {"timeline": {**ENDED, "weeks_since_stressor_ended": 12}}),
    "timeline.persists_after_situation": (
        {"timeline": {**ENDED, "weeks_since_stressor_ended": 12}},
        {"timeline": {**ENDED, "weeks_since_stressor_ended": 11}}),
    "timeline.persists_without_threat": (
        {"timeline": {"stressor": "none", "weeks_since_onset": 12}},
        {"timeline": {"stressor": "ongoing", "weeks_since_onset": 40}}),
    "marker.situation_specific": ({"criteria": {"situation_specific": "yes"}},
                                  {"criteria": {"situation_specific": "partly"}}),
    "marker.not_situation_specific": ({"criteria": {"situation_specific": "no"}},
                                      {"criteria": {"situation_specific": "partly"}}),
    "marker.can_explain": ({"criteria": {"can_explain_distancing": "yes"}},
                           {"criteria": {"can_explain_distancing": "unknown"}}),
    "marker.cannot_explain": ({"criteria": {"can_explain_distancing": "no"}},
                              {"criteria": {"can_explain_distancing": "yes"}}),
    "marker.reconnects": ({"criteria": {"reconnects_when_safe": "yes"}},
                          {"criteria": {"reconnects_when_safe": "no"}}),
    "marker.does_not_reconnect": ({"criteria": {"reconnects_when_safe": "no"}},
                                  {"criteria": {"reconnects_when_safe": "partly"}}),
    "marker.relationships_intact": ({"criteria": {"relationships_intact": "yes"}},
                                    {"criteria": {"relationships_intact": "no"}}),
    "marker.relationships_harmed": ({"criteria": {"relationships_intact": "no"}},
                                    {"criteria": {"relationships_intact": "yes"}}),
    "sign.inaccessible_when_safe": ({"criteria": {"emotions_accessible_when_safe": "no"}},
                                    {"criteria": {"emotions_accessible_when_safe": "yes"}}),
    "sign.numbness": ({"findings": {"numbness": "present"}}, {"findings": {"numbness": "absent"}}),
    "sign.behind_glass": ({"findings": {"behind_glass": "present"}},
                          {"findings": {"behind_glass": "absent"}}),
    "sign.chronic_emptiness": ({"findings": {"chronic_emptiness": "present"}},
                               {"findings": {"chronic_emptiness": "absent"}}),
    "sign.positive_emotions_muted": ({"findings": {"positive_emotions_muted": "present"}},
                                     {"findings": {"negative_emotions_muted": "present"}}),
    "sign.negative_emotions_muted": ({"findings": {"negative_emotions_muted": "present"}},
                                     {"findings": {"positive_emotions_muted": "present"}}),
    "sign.partner_shut_out": ({"findings": {"partner_feels_shut_out": "present"}},
                              {"findings": {"partner_feels_shut_out": "absent"}}),
    "sign.confused_by_absent_feelings": ({"findings": {"confused_by_absent_feelings": "present"}},
                                         {"findings": {"confused_by_absent_feelings": "absent"}}),
    "sign.cannot_use_feelings": ({"findings": {"cannot_use_feelings_to_decide": "present"}},
                                 {"findings": {"cannot_use_feelings_to_decide": "absent"}}),
    "sign.grief_unprocessed": ({**PERSISTS, "findings": {"grief_unprocessed": "present"}},
                               {**ONGOING, "findings": {"grief_unprocessed": "present"}}),
    "sign.declines_comfort": ({**PERSISTS, "findings": {"declines_comfort": "present"}},
                              {**ONGOING, "findings": {"declines_comfort": "present"}}),
    "spectrum.adaptive": (
        {**ONGOING, "criteria": {"situation_specific": "yes"}},
        {**ONGOING, "criteria": {"situation_specific": "yes", "reconnects_when_safe": "no"}}),
    "spectrum.maladaptive.signs_persist": (
        {**PERSISTS, "findings": {"numbness": "present"}},
        {**ONGOING, "findings": {"numbness": "present"}}),
    "spectrum.maladaptive.markers_fail_persist": (
        {**PERSISTS, "criteria": {"reconnects_when_safe": "no"}},
        {**PERSISTS, "criteria": {"reconnects_when_safe": "yes"}}),
    "spectrum.at_risk.signs_within_situation": (
        {**ONGOING, "findings": {"chronic_emptiness": "present"}},
        {**ONGOING, "findings": {"chronic_emptiness": "absent"}}),
    "spectrum.at_risk.markers_fail_within_situation": (
        {**ONGOING, "criteria": {"relationships_intact": "no"}},
        {**PERSISTS, "criteria": {"relationships_intact": "no"}}),
    "spectrum.at_risk.outlasts_situation": (
        PERSISTS, {**PERSISTS, "criteria": {"reconnects_when_safe": "yes"}}),
    "spectrum.at_risk.signs_timing_unclear": (
        {"findings": {"numbness": "present"}}, {**ONGOING, "findings": {"numbness": "present"}}),
    "spectrum.at_risk.markers_fail_timing_unclear": (
        {"criteria": {"can_explain_distancing": "no"}},
        {**PERSISTS, "criteria": {"can_explain_distancing": "no"}}),
    "spectrum.undetermined": ({"criteria": {"situation_specific": "yes"}}, ONGOING | {
        "criteria": {"situation_specific": "yes"}}),
    "inconsistency.relationships_intact_but_partner_shut_out": (
        {"criteria": {"relationships_intact": "yes"}, "findings": {"partner_feels_shut_out": "present"}},
        {"timeline": {"precipitant": "separation"}, "criteria": {"relationships_intact": "yes"},
         "findings": {"partner_feels_shut_out": "present"}}),
    "inconsistency.precipitant_but_no_stressor": (
        {"timeline": {"precipitant": "bereavement", "stressor": "none"}},
        {"timeline": {"precipitant": "none_identified", "stressor": "none"}}),
    "context.separation": ({"timeline": {"precipitant": "separation"}},
                           {"timeline": {"precipitant": "bereavement"}}),
    "inconsistency.reconnects_but_inaccessible_when_safe": (
        {"criteria": {"reconnects_when_safe": "yes", "emotions_accessible_when_safe": "no"}},
        {"criteria": {"reconnects_when_safe": "yes", "emotions_accessible_when_safe": "partly"}}),
    "inconsistency.aware_but_confused": (
        {"criteria": {"can_explain_distancing": "yes"},
         "findings": {"confused_by_absent_feelings": "present"}},
        {"criteria": {"can_explain_distancing": "partly"},
         "findings": {"confused_by_absent_feelings": "present"}}),
}


@pytest.mark.parametrize(("sections", "position"), [
    ({}, "undetermined"),
    ({**ONGOING, "criteria": {"can_explain_distancing": "yes"}}, "adaptive"),
    ({**ONGOING, "criteria": {"can_explain_distancing": "yes"}, "findings": {"numbness": "present"}},
     "at_risk"),
    ({**PERSISTS, "findings": {"numbness": "present"}}, "maladaptive"),
    (PERSISTS, "at_risk"),
    ({"timeline": {"stressor": "none", "weeks_since_onset": 4}, "findings": {"numbness": "present"}},
     "at_risk"),
    ({"timeline": {"stressor": "none", "weeks_since_onset": 4}}, "undetermined"),
    ({**ONGOING, "criteria": {"situation_specific": "partly"}}, "undetermined"),
])
def test_positions(sections: dict[str, Any], position: str, run_case: Callable[..., Report]) -> None:
    report = run_case(**sections)
    assert report.spectrum.position == position


def test_evidence_for_and_against(run_case: Callable[..., Report]) -> None:
    report = run_case(timeline={"stressor": "ongoing"},
                      criteria={"situation_specific": "yes"}, findings={"numbness": "present"})
    assert report.spectrum.position == "at_risk"
    assert [e.id for e in report.spectrum.evidence_for] == ["numbing"]
    assert sorted(e.id for e in report.spectrum.against) == ["confined_to_situation", "time_limited"]
    assert report.to_json_dict()["spectrum"]["for"][0]["because"] == ["sign.numbness"]
