"""QuestionnaireResponse <-> case file: exact round trips, and one clear problem per mismatch."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from engine import KnowledgeBase, assess, parse_case
from engine.vignettes import Vignette, default_vignettes
from engine.yaml_io import dumps, loads
from service.response import ResponseError, case_from_response, check_response, response_from_case
from service.terminology import QUESTIONNAIRE_URL, V2_0136
from tests.service.helpers import ROOT

VIGNETTES = default_vignettes()


@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.id for v in VIGNETTES])
def test_every_vignette_round_trips_exactly(vignette: Vignette, kb: KnowledgeBase) -> None:
    case = parse_case(vignette.case, kb)
    response = response_from_case(case, kb, subject_reference="Patient/p-1")
    QuestionnaireResponse.model_validate(response)
    back = case_from_response(response, kb, patient_id="p-1")
    assert back.to_dict() == vignette.case
    assert back == case or (back.answers, back.subject, back.case_id, back.notes, back.as_of) == (
        case.answers, case.subject, case.case_id, case.notes, case.as_of)
    assert response_from_case(back, kb, subject_reference="Patient/p-1") == response
    assert assess(back, explain=True).to_json_dict() == assess(case, explain=True).to_json_dict()


def _a_response(kb: KnowledgeBase, **case: Any) -> dict[str, Any]:
    data = {"schema_version": 1, **case}
    return response_from_case(parse_case(data, kb), kb)


def _find(response: dict[str, Any], link: str) -> dict[str, Any]:
    def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
        for item in items:
            if item["linkId"] == link:
                return item
            found = walk(item.get("item", []))
            if found:
                return found
        return None

    found = walk(response["item"])
    assert found is not None, link
    return found


def _problems(response: Any, kb: KnowledgeBase, patient_id: str | None = None) -> list[str]:
    return [str(p) for p in check_response(response, kb, patient_id)[1]]


@pytest.fixture
def response(kb: KnowledgeBase) -> dict[str, Any]:
    """A response with a timeline, a criterion, a finding and a measure."""
    timeline = {"weeks_since_onset": 30, "stressor": "ended", "weeks_since_stressor_ended": 4}
    return _a_response(kb, case_id="C-1", as_of="2024-05-01", timeline=timeline,
                       criteria={"situation_specific": "no"}, findings={"numbness": "present"},
                       measures={"tas20_total": 58}, notes="free text")


def test_a_clean_response_has_no_problems(response: dict[str, Any], kb: KnowledgeBase) -> None:
    assert _problems(response, kb) == []


def test_yes_no_unknown_are_hl7_codes(response: dict[str, Any]) -> None:
    coding = _find(response, "situation_specific")["answer"][0]["valueCoding"]
    assert (coding["system"], coding["code"], coding["display"]) == (V2_0136, "N", "No")


def test_authored_is_the_as_of_date(response: dict[str, Any], kb: KnowledgeBase) -> None:
    assert response["authored"] == "2024-05-01"
    response["authored"] = "2024-05-01T23:30:00-05:00"  # the author's own calendar date counts
    assert case_from_response(response, kb).as_of is not None
    assert case_from_response(response, kb).to_dict()["as_of"] == "2024-05-01"
    del response["authored"]
    assert "as_of" not in case_from_response(response, kb).to_dict()
    response["authored"] = "2024-05"
    assert _problems(response, kb) == [
        "QuestionnaireResponse.authored: must give at least a full date YYYY-MM-DD (got 2024-05)"]


def test_unknown_link_id_is_named_with_a_suggestion(response: dict[str, Any], kb: KnowledgeBase) -> None:
    response["item"].append({"linkId": "weeks_since_onsett", "answer": [{"valueInteger": 3}]})
    problems = _problems(response, kb)
    assert len(problems) == 1
    assert problems[0].startswith("item 'weeks_since_onsett': unknown linkId: not in this Questionnaire; "
                                  "did you mean weeks_since_onset")


def test_wrong_answer_type(response: dict[str, Any], kb: KnowledgeBase) -> None:
    _find(response, "weeks_since_onset")["answer"] = [{"valueString": "30"}]
    assert _problems(response, kb) == [
        "item 'weeks_since_onset': needs valueInteger for this integer item, got valueString"]


def test_answer_outside_the_options(response: dict[str, Any], kb: KnowledgeBase) -> None:
    _find(response, "numbness")["answer"] = [{"valueCoding": {"system": V2_0136, "code": "Y"}}]
    problems = _problems(response, kb)
    assert len(problems) == 1
    assert problems[0].startswith(f"item 'numbness': '{V2_0136}|Y' is not one of its options; allowed: ")
    assert "|present (" in problems[0] and "|absent (" in problems[0]


def test_answered_while_disabled(kb: KnowledgeBase, response: dict[str, Any]) -> None:
    _find(response, "stressor")["answer"] = [{"valueCoding": {
        "system": _find(_a_response(kb, timeline={"stressor": "ongoing"}), "stressor")["answer"][0]
        ["valueCoding"]["system"], "code": "ongoing"}}]
    problems = _problems(response, kb)
    assert len(problems) == 1
    assert problems[0].startswith("item 'weeks_since_stressor_ended': is answered while disabled: it is "
                                  "enabled only when 'stressor' is ")
    assert problems[0].endswith("(it is 'Still going on')")


def test_out_of_range_and_too_many_answers(response: dict[str, Any], kb: KnowledgeBase) -> None:
    q = kb.questions["tas20_total"]
    over = (q.maximum or 0) + 1
    _find(response, "tas20_total")["answer"] = [{"valueInteger": over}]
    _find(response, "weeks_since_onset")["answer"] = [{"valueInteger": 1}, {"valueInteger": 2}]
    assert _problems(response, kb) == [
        "item 'weeks_since_onset': has 2 answers; it takes one",
        f"item 'tas20_total': must be a whole number from {q.minimum} to {q.maximum} (got {over})",
    ]


def test_every_problem_is_reported_once(response: dict[str, Any], kb: KnowledgeBase) -> None:
    response["questionnaire"] = "http://elsewhere.example/Questionnaire/x"
    response["status"] = "entered-in-error"
    response["item"].append({"linkId": "nope", "answer": [{"valueInteger": 1}]})
    _find(response, "weeks_since_onset")["answer"] = [{"valueBoolean": True}]
    _find(response, "case-id")["answer"] = [{"valueString": "Jane Doe"}]
    problems = _problems(response, kb)
    assert [p.split(":")[0] for p in problems] == [
        "QuestionnaireResponse.questionnaire", "QuestionnaireResponse.status", "item 'case-id'",
        "item 'weeks_since_onset'", "item 'nope'"]
    with pytest.raises(ResponseError) as err:
        case_from_response(response, kb)
    assert err.value.lines() == problems


def test_the_patient_must_be_the_one_in_context(response: dict[str, Any], kb: KnowledgeBase) -> None:
    response["subject"] = {"reference": "Patient/someone-else"}
    assert _problems(response, kb, patient_id="p-1") == [
        "QuestionnaireResponse.subject: names another patient than the one in the hook's context"]
    response["subject"] = {"reference": "https://ehr.example/fhir/Patient/p-1"}
    assert _problems(response, kb, patient_id="p-1") == []


def test_structural_errors_name_the_item(response: dict[str, Any], kb: KnowledgeBase) -> None:
    _find(response, "weeks_since_onset")["answer"] = [{"valueInteger": "thirty"}]
    problems = _problems(response, kb)
    assert len(problems) == 1
    assert problems[0].startswith("item 'weeks_since_onset': answer.0.valueInteger: is not valid FHIR: ")


def test_not_a_response(kb: KnowledgeBase) -> None:
    assert _problems({"resourceType": "Patient"}, kb) == ["resource: must be a QuestionnaireResponse"]
    assert _problems([1, 2], kb) == ["resource: must be a QuestionnaireResponse"]


def test_the_questionnaire_may_be_named_without_its_version(response: dict[str, Any],
                                                            kb: KnowledgeBase) -> None:
    response["questionnaire"] = QUESTIONNAIRE_URL
    assert _problems(response, kb) == []


def test_groups_and_display_items_take_no_answers(response: dict[str, Any], kb: KnowledgeBase) -> None:
    response["item"][0]["answer"] = [{"valueString": "x"}]
    response["item"].append({"linkId": "numbness:help", "answer": [{"valueString": "x"}]})
    assert _problems(response, kb) == [
        f"item '{response['item'][0]['linkId']}': is a group; it takes no answer",
        "item 'numbness:help': is display text; it takes no answer"]


def test_cli_converts_both_ways(tmp_path: Path, kb: KnowledgeBase) -> None:
    vignette = VIGNETTES[0]
    case_path = tmp_path / "case.yaml"
    case_path.write_text(dumps(vignette.case), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "service", "response", str(case_path), "--patient", "p-9"],
                         cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    assert response["subject"] == {"reference": "Patient/p-9"}
    response_path = tmp_path / "response.json"
    response_path.write_text(out.stdout, encoding="utf-8")
    back = subprocess.run([sys.executable, "-m", "service", "case", str(response_path)], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert back.returncode == 0, back.stderr
    assert loads(back.stdout) == vignette.case
    broken = copy.deepcopy(response)
    broken["item"].append({"linkId": "nope"})
    response_path.write_text(json.dumps(broken), encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "service", "case", str(response_path)], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "item 'nope': unknown linkId: not in this Questionnaire"
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("answer", [{"valueInteger": "30"}, {"valueInteger": 30.0}, {"valueInteger": True}])
def test_json_types_are_not_coerced(response: dict[str, Any], kb: KnowledgeBase,
                                    answer: dict[str, Any]) -> None:
    _find(response, "weeks_since_onset")["answer"] = [answer]
    problems = _problems(response, kb)
    assert len(problems) == 1 and problems[0].startswith("item 'weeks_since_onset': "), problems


def test_date_answers_round_trip_and_count_from_authored(kb: KnowledgeBase) -> None:
    """A date question of the catalogue: valueDate both ways, counted from `authored` (as_of)."""
    dated = [q for q in kb.questions.values() if q.kind == "date" and not q.requires]
    assert dated, "the catalogue has a date question"
    q = dated[0]
    case = {"schema_version": 1, "as_of": "2024-06-01", q.section: {q.id: "2024-01-15"}}
    response = response_from_case(case, kb)
    assert response["authored"] == "2024-06-01"
    assert _find(response, q.id)["answer"] == [{"valueDate": "2024-01-15"}]
    back = case_from_response(response, kb)
    assert back.to_dict() == case
    expected = assess(parse_case(case, kb), explain=True).to_json_dict()
    assert assess(back, explain=True).to_json_dict() == expected
    later = {**response, "authored": "2025-06-01"}  # the same answers, given a year later
    assert case_from_response(later, kb).answers != back.answers
