"""The case file contract: valid cases load; invalid ones give one clear line per problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import CaseError, KnowledgeBase, dump_case, parse_case, parse_text, read_case
from engine.case import case_from_answers


def problems_of(data: Any, kb: KnowledgeBase) -> list[str]:
    with pytest.raises(CaseError) as info:
        parse_case(data, kb)
    return info.value.lines()


def test_minimal_case_is_all_unknown(kb: KnowledgeBase) -> None:
    case = parse_case({"schema_version": 1}, kb)
    assert case.answers == {"subject": "client"}
    assert case.subject == "client"


def test_explicit_unknown_equals_omitted(kb: KnowledgeBase) -> None:
    explicit = parse_case({"schema_version": 1, "criteria": {"situation_specific": "unknown"},
                           "timeline": {"stressor": "unknown"}}, kb)
    assert explicit.answers == parse_case({"schema_version": 1}, kb).answers


def test_unknown_finding_suggests_nearest(kb: KnowledgeBase) -> None:
    lines = problems_of({"schema_version": 1, "findings": {"numbnes": "present"}}, kb)
    assert lines == ["findings.numbnes: unknown finding; did you mean numbness?"]


def test_unknown_criterion_without_close_match_lists_allowed(kb: KnowledgeBase) -> None:
    (line,) = problems_of({"schema_version": 1, "criteria": {"zzz": "yes"}}, kb)
    assert line.startswith("criteria.zzz: unknown criterion; allowed: situation_specific")


def test_out_of_range_score_names_field_and_range(kb: KnowledgeBase) -> None:
    lines = problems_of({"schema_version": 1, "measures": {"tas20_total": 130}}, kb)
    assert lines == ["measures.tas20_total: must be a whole number from 20 to 100 (got 130)"]


def test_wrong_type_for_score(kb: KnowledgeBase) -> None:
    lines = problems_of({"schema_version": 1, "measures": {"ders18_total": "high"}}, kb)
    assert lines == ["measures.ders18_total: must be a whole number from 18 to 90 (got 'high'); "
                     "leave it out when unknown"]


def test_bad_option_lists_allowed_values(kb: KnowledgeBase) -> None:
    (line,) = problems_of({"schema_version": 1, "criteria": {"situation_specific": "maybe"}}, kb)
    assert line.startswith("criteria.situation_specific: must be one of 'yes', 'partly', 'no'")
    assert "got 'maybe'" in line


def test_weeks_since_stressor_ended_requires_ended(kb: KnowledgeBase) -> None:
    lines = problems_of({"schema_version": 1,
                         "timeline": {"stressor": "ongoing", "weeks_since_stressor_ended": 3}}, kb)
    assert lines == ["timeline.weeks_since_stressor_ended: only allowed with timeline.stressor: ended "
                     "(got stressor: ongoing)"]


def test_several_problems_one_line_each(kb: KnowledgeBase) -> None:
    lines = problems_of({"schema_version": 1, "findings": {"numbness": "yes"},
                         "measures": {"tas20_total": 5}}, kb)
    assert len(lines) == 2
    assert lines[0] == "findings.numbness: must be one of 'present' or 'absent' (got 'yes')"
    assert lines[1].startswith("measures.tas20_total: must be a whole number from 20 to 100")


def test_schema_version_and_top_level_fields(kb: KnowledgeBase) -> None:
    assert problems_of({"schema_version": 2}, kb) == [
        "schema_version: must be 1, the case file version (got 2)"]
    assert problems_of({}, kb) == ["schema_version: is required: schema_version: 1"]
    (line,) = problems_of({"schema_version": 1, "finding": {}}, kb)
    assert line.startswith("finding: unknown field; did you mean findings?")


def test_case_id_must_be_a_code_not_a_name(kb: KnowledgeBase) -> None:
    (line,) = problems_of({"schema_version": 1, "case_id": "Jane Doe"}, kb)
    assert line.startswith("case_id: must be a short pseudonymous code")


def test_not_a_mapping(kb: KnowledgeBase) -> None:
    assert problems_of(["schema_version", 1], kb) == ["case: must be a mapping with schema_version: 1"]
    assert problems_of({"schema_version": 1, "criteria": "yes"}, kb) == [
        "criteria: must be a mapping of answers (got str)"]


def test_yaml_and_json_give_the_same_case(kb: KnowledgeBase) -> None:
    yaml_text = "schema_version: 1\ncriteria:\n  situation_specific: no\nfindings:\n  numbness: present\n"
    json_text = json.dumps({"schema_version": 1, "criteria": {"situation_specific": "no"},
                            "findings": {"numbness": "present"}})
    assert parse_text(yaml_text, kb).answers == parse_text(json_text, kb).answers
    assert parse_text(yaml_text, kb).answers["situation_specific"] == "no"


def test_malformed_text_names_the_line(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseError) as info:
        parse_text("schema_version: 1\ncriteria: [unclosed\n", kb, name="c.yaml")
    (line,) = info.value.lines()
    assert line.startswith("c.yaml:")
    assert "is not valid YAML" in line
    with pytest.raises(CaseError) as info:
        parse_text('{"schema_version": 1,,}', kb, name="c.json")
    assert info.value.lines()[0].startswith("c.json:1: is not valid JSON")


def test_unreadable_file(tmp_path: Path, kb: KnowledgeBase) -> None:
    with pytest.raises(CaseError) as info:
        read_case(tmp_path / "missing.yaml", kb)
    assert "cannot be read" in info.value.lines()[0]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_round_trip_is_exact(fmt: str, kb: KnowledgeBase) -> None:
    data = {"schema_version": 1, "case_id": "C-1", "subject": "client",
            "timeline": {"stressor": "ended", "weeks_since_stressor_ended": 20},
            "criteria": {"situation_specific": "no", "reconnects_when_safe": "unknown"},
            "findings": {"numbness": "present", "flat_affect": "absent"},
            "measures": {"tas20_total": 61}, "notes": "line one\nline <two>"}
    case = parse_case(data, kb)
    again = parse_text(dump_case(case, fmt), kb)  # type: ignore[arg-type]
    assert again.to_dict() == data
    assert again.answers == case.answers


def test_case_from_answers_drops_unknowns(kb: KnowledgeBase) -> None:
    case = case_from_answers({"numbness": "present", "situation_specific": "unknown",
                              "tas20_total": 55, "stressor": "unknown"}, kb, case_id="X1")
    assert case.to_dict() == {"schema_version": 1, "case_id": "X1", "subject": "client",
                              "findings": {"numbness": "present"}, "measures": {"tas20_total": 55}}
