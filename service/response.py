"""QuestionnaireResponse <-> case file, and the check that a response matches the Questionnaire.

`fhir.resources` checks a response's FHIR structure only; whether it answers *this*
Questionnaire (known linkIds, the right answer type, an answer among the options, nothing
answered while disabled) is checked here, one clear problem per mismatch, like case files.

Dates: the response's `authored` is carried as the case's `as_of` (its calendar date as
written, in the author's own offset), so answers given as dates are counted from the day the
answers were given, and a case's `as_of` comes back as `authored`. A response without
`authored` gives a case without `as_of`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from engine import Case, CaseError, KnowledgeBase, default_knowledge_base, parse_case
from engine.case import ANSWER_SECTIONS, CASE_ID_PATTERN, NOTES_MAX
from engine.errors import Problem, ProblemsError
from engine.knowledge import Question
from engine.suggest import did_you_mean
from service.questionnaire import CASE_ID_LINK, NOTES_LINK, ItemSpec, Layout, QuestionnaireError, layout
from service.terminology import CASE_ID_SYSTEM, QUESTIONNAIRE_URL

STATUSES = ("in-progress", "completed", "amended", "stopped")  # entered-in-error is refused
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CASE_FIELDS = {"schema_version", "case_id", "subject", "as_of", "notes", *ANSWER_SECTIONS}


class ResponseError(ProblemsError):
    """A QuestionnaireResponse does not match the Questionnaire; nothing was assessed."""


def item_where(link_id: str) -> str:
    """How a problem names an item."""
    return f"item '{link_id}'"


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- case -> response ---------------------------------------------------------------------

def _answer(spec: ItemSpec, value: Any) -> dict[str, Any]:
    if spec.value_key == "valueCoding":
        return {"valueCoding": dict(spec.codings[str(value)])}
    if spec.value_key == "valueDate":
        return {"valueDate": value.isoformat() if isinstance(value, date) else str(value)}
    return {spec.value_key: value}


def response_from_case(case: Case | Mapping[str, Any], kb: KnowledgeBase | None = None,
                       subject_reference: str | None = None,
                       status: str = "completed") -> dict[str, Any]:
    """The QuestionnaireResponse holding a case file's answers (omitted answers stay omitted).

    `case` is a validated Case or case data; `subject_reference` (e.g. 'Patient/123') names the
    patient. Converting the response back gives the same case file.
    """
    kb = kb or default_knowledge_base()
    data = case.to_dict() if isinstance(case, Case) else dict(case)
    lay = layout(kb)
    extra = sorted(set(data) - _CASE_FIELDS)
    if extra:
        raise QuestionnaireError([Problem(f"case.{k}", "has no item in the Questionnaire") for k in extra])
    answers: dict[str, dict[str, Any]] = {}
    subject_questions = kb.questions_in("subject")
    if data.get("subject") is not None and subject_questions:
        answers[subject_questions[0].id] = _answer(lay.items[subject_questions[0].id], data["subject"])
    if data.get("case_id") is not None:
        answers[CASE_ID_LINK] = {"valueString": str(data["case_id"])}
    if data.get("notes") is not None:
        answers[NOTES_LINK] = {"valueString": str(data["notes"])}
    for section in ANSWER_SECTIONS:
        for qid, value in (data.get(section) or {}).items():
            if value is not None:
                answers[qid] = _answer(lay.items[qid], value)

    def build(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            link = item["linkId"]
            if item["type"] == "group":
                children = build(item.get("item", []))
                if children:
                    out.append({"linkId": link, "text": item["text"], "item": children})
            elif link in answers:
                out.append({"linkId": link, "text": item["text"], "answer": [answers[link]]})
        return out

    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse",
                                "questionnaire": lay.canonical, "status": status}
    if data.get("case_id") is not None:
        resource["identifier"] = {"system": CASE_ID_SYSTEM, "value": str(data["case_id"])}
    if subject_reference:
        resource["subject"] = {"reference": subject_reference}
    as_of = data.get("as_of")
    if as_of is not None:
        resource["authored"] = as_of.isoformat() if isinstance(as_of, date) else str(as_of)
    resource["item"] = build(lay.resource["item"])
    return resource


# ---- response -> case ---------------------------------------------------------------------

def _structure_where(resource: Any, loc: tuple[int | str, ...]) -> str:
    """Name the innermost item a structural error sits in ("item 'x': answer[0].valueInteger")."""
    node, link, rest = resource, None, []
    for part in loc:
        rest.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, Mapping) and isinstance(node.get("linkId"), str) and rest[-2:-1] == ["item"]:
            link, rest = node["linkId"], []
    tail = ".".join(p for p in rest if not p.startswith("function-"))
    if link is None:
        return f"QuestionnaireResponse.{tail}" if tail else "QuestionnaireResponse"
    return f"{item_where(_short(link))}: {tail}" if tail else item_where(_short(link))


def _structure_problems(resource: Any, exc: ValidationError) -> list[Problem]:
    return [Problem(_structure_where(resource, tuple(err["loc"])), f"is not valid FHIR: {err['msg']}")
            for err in exc.errors()]


def _options_text(spec: ItemSpec) -> str:
    return ", ".join(f"{c['system']}|{c['code']} ({c['display']})" for c in spec.codings.values())


def _check_answer(spec: ItemSpec, answer: Mapping[str, Any], problems: list[Problem]) -> Any:
    """The case value of one answer, or None after adding a problem."""
    where = item_where(spec.link_id)
    if answer.get("item"):
        problems.append(Problem(where, "an answer takes no nested items here"))
        return None
    keys = [k for k in answer if k.startswith("value")]
    if not keys:
        problems.append(Problem(where, f"the answer has no value; give {spec.value_key}"))
        return None
    key = keys[0]
    if key != spec.value_key:
        problems.append(Problem(where, f"needs {spec.value_key} for this {spec.item_type} item, got {key}"))
        return None
    value = answer[key]
    q = spec.question
    if spec.value_key == "valueCoding":
        coding = value if isinstance(value, Mapping) else {}
        option = spec.options_by_code.get((str(coding.get("system")), str(coding.get("code"))))
        if option is None:
            given = f"{coding.get('system', '(no system)')}|{coding.get('code', '(no code)')}"
            problems.append(Problem(where, f"'{_short(given, 120)}' is not one of its options; "
                                           f"allowed: {_options_text(spec)}"))
        return option
    if spec.value_key == "valueInteger" and q is not None:
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(Problem(where, f"valueInteger must be a JSON number (got {_short(value)})"))
            return None
        low, high = q.minimum, q.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            upper = f" to {high}" if high is not None else " or more"
            problems.append(Problem(where, f"must be a whole number from {low}{upper} (got {_short(value)})"))
            return None
        return value
    if not isinstance(value, str):
        problems.append(Problem(where, f"{key} must be a JSON string"))
        return None
    if spec.value_key == "valueDate":
        try:
            if not _DATE.match(value):
                raise ValueError(value)
            return date.fromisoformat(value).isoformat()
        except ValueError:
            problems.append(Problem(where, f"must be a full date YYYY-MM-DD (got {_short(value)})"))
            return None
    if spec.link_id == CASE_ID_LINK:
        if not re.fullmatch(CASE_ID_PATTERN, str(value)):
            problems.append(Problem(where, "must be a short pseudonymous code (letters, digits, . _ -; "
                                           "at most 40 characters), never a name"))
            return None
        return str(value)
    if spec.link_id == NOTES_LINK and len(str(value)) > NOTES_MAX:
        problems.append(Problem(where, f"must be text of at most {NOTES_MAX} characters"))
        return None
    return value


def _requirement_text(lay: Layout, q: Question, answers: Mapping[str, Any]) -> str:
    parts = []
    for other, allowed in q.requires.items():
        spec = lay.items[other]
        wanted = " or ".join(f"'{spec.codings[o]['display']}'" for o in allowed)
        got = str(answers.get(other))
        now = f"'{spec.codings[got]['display']}'" if got in spec.codings else "unanswered"
        parts.append(f"'{other}' is {wanted} (it is {now})")
    return " and ".join(parts)


def _walk(lay: Layout, items: list[dict[str, Any]], answers: dict[str, Any],
          problems: list[Problem]) -> None:
    all_links = [*lay.items, *lay.groups]
    for item in items:
        link = str(item.get("linkId"))
        where = item_where(link)
        if link in lay.groups:
            if item.get("answer"):
                problems.append(Problem(where, "is a group; it takes no answer"))
            _walk(lay, item.get("item", []), answers, problems)
        elif link in lay.display:
            if item.get("answer"):
                problems.append(Problem(where, "is display text; it takes no answer"))
        elif link in lay.items:
            spec = lay.items[link]
            if link in answers:
                problems.append(Problem(where, "is given more than once"))
                continue
            if item.get("item"):
                problems.append(Problem(where, "is a question; it takes no nested items"))
            given = item.get("answer") or []
            if len(given) > 1:
                problems.append(Problem(where, f"has {len(given)} answers; it takes one"))
                answers[link] = None
                continue
            answers[link] = _check_answer(spec, given[0], problems) if given else None
        else:
            problems.append(Problem(where, "unknown linkId: not in this Questionnaire"
                                           f"{did_you_mean(link, all_links)}"))


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _patient_of(reference: str) -> str | None:
    match = re.search(r"(?:^|/)Patient/([^/]+)$", reference)
    return match.group(1) if match else None


def check_response(resource: Any, kb: KnowledgeBase | None = None,
                   patient_id: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Check a QuestionnaireResponse against the Questionnaire: (case data, problems).

    The case data is only meaningful when there are no problems. With `patient_id`, a response
    whose subject names another patient is refused.
    """
    kb = kb or default_knowledge_base()
    lay = layout(kb)
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "QuestionnaireResponse":
        return {}, [Problem("resource", "must be a QuestionnaireResponse")]
    try:
        QuestionnaireResponse.model_validate(dict(resource))
    except ValidationError as exc:
        return {}, _structure_problems(resource, exc)
    except RecursionError:
        return {}, [Problem("QuestionnaireResponse", "is nested too deeply")]
    # The structure is valid FHIR; the checks below read the resource as sent (JSON types are
    # still checked where pydantic's validation would have coerced them).
    qr = resource
    problems: list[Problem] = []

    canonical = str(qr.get("questionnaire") or "")
    if canonical.partition("|")[0] != QUESTIONNAIRE_URL:
        problems.append(Problem("QuestionnaireResponse.questionnaire",
                                f"must be {QUESTIONNAIRE_URL} (optionally |version); "
                                f"got {_short(canonical) or 'nothing'}"))
    status = qr.get("status")
    if status not in STATUSES:
        problems.append(Problem("QuestionnaireResponse.status",
                                f"must be one of {', '.join(STATUSES)} (got {_short(status)})"))
    reference = (qr.get("subject") or {}).get("reference")
    if patient_id is not None and reference is not None and _patient_of(str(reference)) != patient_id:
        problems.append(Problem("QuestionnaireResponse.subject",
                                "names another patient than the one in the hook's context"))

    answers: dict[str, Any] = {}
    _walk(lay, qr.get("item", []), answers, problems)
    known = {k: v for k, v in answers.items() if v is not None}
    for link, value in known.items():
        q = lay.items[link].question
        if q is not None and value is not None and not q.requirements_met(known):
            problems.append(Problem(item_where(link),
                                    f"is answered while disabled: it is enabled only when "
                                    f"{_requirement_text(lay, q, known)}"))

    data: dict[str, Any] = {"schema_version": 1}
    if known.get(CASE_ID_LINK) is not None:
        data["case_id"] = known[CASE_ID_LINK]
    subject_questions = kb.questions_in("subject")
    if subject_questions and known.get(subject_questions[0].id) is not None:
        data["subject"] = known[subject_questions[0].id]
    authored = qr.get("authored")
    if authored is not None:
        if _FULL_DATE.match(str(authored)) and _valid_date(str(authored)[:10]):
            data["as_of"] = str(authored)[:10]
        else:
            problems.append(Problem("QuestionnaireResponse.authored",
                                    f"must give at least a full date YYYY-MM-DD (got {_short(authored)})"))
    for section in ANSWER_SECTIONS:
        values = {q.id: known[q.id] for q in kb.questions_in(section) if known.get(q.id) is not None}
        if values:
            data[section] = values
    if known.get(NOTES_LINK) is not None:
        data["notes"] = known[NOTES_LINK]
    return data, problems


def _from_case_problem(problem: Problem) -> Problem:
    """Name an item where the case model names a case field (timeline.x -> item 'x')."""
    section, _, qid = problem.where.partition(".")
    if section in ANSWER_SECTIONS and qid:
        return Problem(item_where(qid), problem.message)
    mapped = {"case_id": item_where(CASE_ID_LINK), "notes": item_where(NOTES_LINK),
              "as_of": "QuestionnaireResponse.authored"}
    return Problem(mapped.get(problem.where, problem.where), problem.message)


def case_from_response(resource: Any, kb: KnowledgeBase | None = None,
                       patient_id: str | None = None) -> Case:
    """The validated case of a QuestionnaireResponse; raise ResponseError listing every problem."""
    kb = kb or default_knowledge_base()
    data, problems = check_response(resource, kb, patient_id)
    if problems:
        raise ResponseError(problems)
    try:
        return parse_case(data, kb)
    except CaseError as exc:
        raise ResponseError([_from_case_problem(p) for p in exc.problems]) from None
