"""The question catalogue as a FHIR R4B Questionnaire, and the index the response conversion uses.

Everything is generated from the knowledge base: one group item per form step (as in the app),
one sub-group per source grouping when a step mixes several, one item per question. Choice
options become answerOption codings (HL7's yes / no / don't-know codes where they apply, a
local code system per question otherwise); a question's `requires` becomes enableWhen; its help
is a help display item and its source (section and verbatim quote) an extension. The case
file's own fields (case id, notes) are items of the first step, as in the app's form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError

from engine import KnowledgeBase, default_knowledge_base
from engine.case import CASE_ID_PATTERN, NOTES_MAX
from engine.errors import Problem, ProblemsError
from engine.knowledge import Group, Question, Source
from service.terminology import (
    ENABLE_WHEN_EXPRESSION,
    HL7_OPTION_CODES,
    ITEM_CONTROL,
    ITEM_CONTROL_SYSTEM,
    MAX_VALUE,
    MIN_VALUE,
    PROMPT_SELF_EXTENSION,
    QUESTIONNAIRE_URL,
    REGEX,
    SOURCE_EXTENSION,
    option_system,
)

# Question kind -> (FHIR item type, the answer's value[x] key). A new kind in the catalogue needs
# one line here; until then building the Questionnaire fails naming the question and the kind.
KIND_TYPES: dict[str, tuple[str, str]] = {
    "choice": ("choice", "valueCoding"),
    "integer": ("integer", "valueInteger"),
    "date": ("date", "valueDate"),
}
CASE_ID_LINK = "case-id"
NOTES_LINK = "case-notes"
CASE_ID_MAX = 40  # CASE_ID_PATTERN allows 1 + 39 characters


class QuestionnaireError(ProblemsError):
    """The catalogue holds something the Questionnaire cannot express (for example a new kind)."""


@dataclass(frozen=True)
class ItemSpec:
    """What one answerable item of the Questionnaire accepts.

    `question` is None for the case file's own fields (case id, notes). `codings` maps each
    option to its Coding; `options_by_code` maps (system, code) back to the option.
    """

    link_id: str
    item_type: str
    value_key: str
    question: Question | None = None
    codings: Mapping[str, dict[str, str]] = field(default_factory=dict)
    options_by_code: Mapping[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Layout:
    """The Questionnaire of one knowledge base with its answerable items and group linkIds."""

    kb: KnowledgeBase
    resource: dict[str, Any]
    items: Mapping[str, ItemSpec]
    groups: frozenset[str]
    display: frozenset[str]

    @property
    def version(self) -> str:
        """The Questionnaire's version: the knowledge base's version and its sha256."""
        return str(self.resource["version"])

    @property
    def canonical(self) -> str:
        """The versioned canonical reference, as a QuestionnaireResponse gives it."""
        return f"{QUESTIONNAIRE_URL}|{self.version}"


def questionnaire_version(kb: KnowledgeBase) -> str:
    """'<knowledge base version>+sha256.<hash>' (semver build metadata)."""
    return f"{kb.meta.version}+sha256.{kb.sha256}"


def _humanize(option: str) -> str:
    return option.replace("_", " ").capitalize()


def option_coding(q: Question, option: str) -> dict[str, str]:
    """The Coding for one option of a choice question."""
    if option in HL7_OPTION_CODES:
        system, code, display = HL7_OPTION_CODES[option]
        return {"system": system, "code": code, "display": display}
    return {"system": option_system(q.id), "code": option,
            "display": q.option_labels.get(option) or _humanize(option)}


def _source_extension(source: Source) -> dict[str, Any]:
    parts = [{"url": "section", "valueString": source.section},
             {"url": "quote", "valueString": source.quote}]
    if source.reference:
        parts.append({"url": "reference", "valueString": source.reference})
    return {"url": SOURCE_EXTENSION, "extension": parts}


def _help_item(owner: str, text: str) -> dict[str, Any]:
    return {
        "linkId": f"{owner}:help",
        "type": "display",
        "text": text,
        "extension": [{"url": ITEM_CONTROL, "valueCodeableConcept": {
            "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "help", "display": "Help-Button"}]}}],
    }


def _enable_when(q: Question, kb: KnowledgeBase) -> dict[str, Any]:
    """enableWhen for `requires` (every listed question answered with one of its options).

    One required question with several options is 'any'; several questions with one option
    each is 'all'. Several questions with several options each (an AND of ORs) cannot be said
    with enableWhen alone, so it goes in SDC's enableWhenExpression; the conformance check
    applies `requires` itself in every case.
    """
    conds = [(kb.questions[other], options) for other, options in q.requires.items()]
    if not conds:
        return {}
    if len(conds) == 1 or all(len(options) == 1 for _, options in conds):
        when = [{"question": other.id, "operator": "=", "answerCoding": option_coding(other, o)}
                for other, options in conds for o in options]
        out: dict[str, Any] = {"enableWhen": when}
        if len(when) > 1:
            out["enableBehavior"] = "any" if len(conds) == 1 else "all"
        return out
    clauses = []
    for other, options in conds:
        alternatives = " or ".join(
            f"(system = '{c['system']}' and code = '{c['code']}')"
            for c in (option_coding(other, o) for o in options))
        clauses.append(f"%resource.repeat(item).where(linkId = '{other.id}')"
                       f".answer.value.where({alternatives}).exists()")
    return {"extension": [{"url": ENABLE_WHEN_EXPRESSION, "valueExpression": {
        "language": "text/fhirpath", "expression": " and ".join(clauses)}}]}


def _question_item(q: Question, kb: KnowledgeBase) -> tuple[dict[str, Any], ItemSpec]:
    if q.kind not in KIND_TYPES:
        raise QuestionnaireError([Problem(
            f"knowledge_base/questions.yaml: questions ({q.id})",
            f"kind '{q.kind}' has no FHIR item type yet; known: {', '.join(KIND_TYPES)}")])
    item_type, value_key = KIND_TYPES[q.kind]
    extensions: list[dict[str, Any]] = [_source_extension(q.source)]
    if q.prompt_self:
        extensions.append({"url": PROMPT_SELF_EXTENSION, "valueString": q.prompt_self})
    if q.kind == "integer":
        if q.minimum is not None:
            extensions.append({"url": MIN_VALUE, "valueInteger": q.minimum})
        if q.maximum is not None:
            extensions.append({"url": MAX_VALUE, "valueInteger": q.maximum})
    item: dict[str, Any] = {"linkId": q.id, "text": q.prompt, "type": item_type,
                            "required": False, "repeats": False}
    codings: dict[str, dict[str, str]] = {}
    if q.kind == "choice":
        codings = {o: option_coding(q, o) for o in q.allowed_options()}
        item["answerOption"] = [{"valueCoding": c} for c in codings.values()]
    enable = _enable_when(q, kb)
    extensions.extend(enable.pop("extension", []))
    item.update(enable)
    item["extension"] = extensions
    item["item"] = [_help_item(q.id, q.help)]
    spec = ItemSpec(link_id=q.id, item_type=item_type, value_key=value_key, question=q,
                    codings=codings,
                    options_by_code={(c["system"], c["code"]): o for o, c in codings.items()})
    return item, spec


def _case_field_items() -> tuple[list[dict[str, Any]], list[ItemSpec]]:
    """The case file's own fields, worded as the app's form words them."""
    case_id = {
        "linkId": CASE_ID_LINK, "type": "string", "text": "Case id (optional)",
        "required": False, "repeats": False, "maxLength": CASE_ID_MAX,
        "extension": [{"url": REGEX, "valueString": CASE_ID_PATTERN}],
        "item": [_help_item(CASE_ID_LINK, "A short pseudonymous code such as C-0142. Never a name.")],
    }
    notes = {
        "linkId": NOTES_LINK, "type": "text", "text": "Notes (optional; never read by the rules)",
        "required": False, "repeats": False, "maxLength": NOTES_MAX,
    }
    specs = [ItemSpec(CASE_ID_LINK, "string", "valueString"), ItemSpec(NOTES_LINK, "text", "valueString")]
    return [case_id, notes], specs


def _group(link_id: str, group: Group, children: list[dict[str, Any]]) -> dict[str, Any]:
    items = ([_help_item(link_id, group.help)] if group.help else []) + children
    return {"linkId": link_id, "type": "group", "text": group.label, "item": items}


@cache
def layout(kb: KnowledgeBase) -> Layout:
    """Build (once per knowledge base) and validate the Questionnaire with its item index."""
    specs: dict[str, ItemSpec] = {}
    groups: set[str] = set()
    display: set[str] = set()
    group_labels = {g.id: g for g in kb.groups}
    top: list[dict[str, Any]] = []
    for index, step in enumerate(kb.steps):
        questions = [q for q in kb.questions.values() if q.step == step.id]
        if not questions and index != 0:
            continue
        built = [_question_item(q, kb) for q in questions]
        specs.update((s.link_id, s) for _, s in built)
        step_link = f"step:{step.id}"
        seen_groups = list(dict.fromkeys(q.group for q in questions))
        children: list[dict[str, Any]]
        if len(seen_groups) > 1:
            children = []
            for gid in seen_groups:
                sub_link = f"{step_link}/group:{gid}"
                groups.add(sub_link)
                members = [item for (item, _), q in zip(built, questions, strict=True) if q.group == gid]
                children.append(_group(sub_link, group_labels[gid], members))
        else:
            children = [item for item, _ in built]
        if index == 0:
            fields, field_specs = _case_field_items()
            children.extend(fields)
            specs.update((s.link_id, s) for s in field_specs)
        groups.add(step_link)
        top.append(_group(step_link, step, children))

    def collect_display(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["type"] == "display":
                display.add(item["linkId"])
            collect_display(item.get("item", []))

    collect_display(top)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": "case",
        "url": QUESTIONNAIRE_URL,
        "version": questionnaire_version(kb),
        "title": kb.meta.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": (f"The case file (version 1) of the knowledge base '{kb.meta.title}' "
                        f"{kb.meta.version}, generated from its question catalogue. Source: "
                        f"{kb.meta.source_document}. Unanswered items are unknown."),
        "item": top,
    }
    try:
        validated = Questionnaire.model_validate(resource)
    except ValidationError as exc:
        raise QuestionnaireError([Problem(".".join(str(p) for p in e["loc"]) or "Questionnaire", e["msg"])
                                  for e in exc.errors()]) from None
    return Layout(kb=kb, resource=validated.model_dump(mode="json", exclude_none=True),
                  items=specs, groups=frozenset(groups), display=frozenset(display))


def questionnaire(kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """The question catalogue as a FHIR R4B Questionnaire (a JSON-ready dict)."""
    return layout(kb or default_knowledge_base()).resource
