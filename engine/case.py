"""The case file, version 1 (DESIGN.md section 4), validated against the question catalogue.

The sections' fields are not written here: they are built from the knowledge base's questions,
so adding a finding to the catalogue makes it a valid case field. Unknown is first-class:
an omitted or `unknown` answer is simply absent from `Case.answers`.
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import ErrorDetails

from engine import json_io
from engine.errors import CaseError, Problem
from engine.kb_loader import KnowledgeBase, default_knowledge_base
from engine.knowledge import UNKNOWN, Question
from engine.limits import LimitError, Limits
from engine.suggest import did_you_mean
from engine.yaml_io import YAMLError, dumps, loads

ANSWER_SECTIONS = ("timeline", "criteria", "findings", "measures")
_SINGULAR = {
    "timeline": "timeline field",
    "criteria": "criterion",
    "findings": "finding",
    "measures": "measure",
}
NOTES_MAX = 10_000
CASE_FILE_MAX_BYTES = 1_000_000  # the same as the app's upload limit (.streamlit/config.toml)
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$"
# A case file holds a few hundred values two levels deep; reading stops past these (issue 14).
CASE_LIMITS = Limits(max_nodes=5_000, max_depth=10)
SUGGESTIONS_MAX = 5  # "did you mean" for the first few unknown keys only (each costs a search)

Answer = str | int


@dataclass(frozen=True)
class Case:
    """A validated case: the known answers by question id, plus the file's own fields."""

    answers: Mapping[str, Answer] = field(repr=False)
    subject: str
    case_id: str | None = field(default=None, repr=False)
    notes: str | None = field(default=None, repr=False)
    raw: Mapping[str, Any] | None = field(default=None, repr=False)
    as_of: date | None = field(default=None, repr=False)
    from_dates: frozenset[str] = field(default=frozenset(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The case as given (omitted answers stay omitted), for saving and round trips."""
        return dict(self.raw or {})


def _field_for(q: Question) -> tuple[Any, Any]:
    if q.kind == "date":
        return (date | None, Field(default=None))
    if q.kind == "integer":
        constraints: dict[str, Any] = {"ge": q.minimum, "strict": True}
        if q.maximum is not None:
            constraints["le"] = q.maximum
        return (int | None, Field(default=None, **constraints))
    return (Literal[q.allowed_options()] | None, Field(default=None))


@cache
def _case_model(kb: KnowledgeBase) -> type[BaseModel]:
    strict = ConfigDict(extra="forbid")
    sections: dict[str, Any] = {}
    for section in ANSWER_SECTIONS:
        fields = {q.id: _field_for(q) for q in kb.questions_in(section)}
        model = create_model(f"Case_{section}", __config__=strict, **fields)  # type: ignore[call-overload]
        sections[section] = (model | None, None)
    subject_q = kb.questions_in("subject")
    subject_type: Any = Literal[subject_q[0].options] if subject_q else str
    default_subject = subject_q[0].options[0] if subject_q else "client"
    return create_model(
        "CaseFile",
        __config__=strict,
        schema_version=(int, Field(strict=True, ge=1, le=1)),
        case_id=(str | None, Field(default=None, pattern=CASE_ID_PATTERN)),
        subject=(subject_type, default_subject),
        as_of=(date | None, Field(default=None, strict=False)),
        notes=(str | None, Field(default=None, max_length=NOTES_MAX)),
        **sections,
    )


_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


def _short(value: object) -> str:
    """A bounded repr for error messages: an input can be huge (or deeply nested)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return _SHORT.repr(value)
    return f"a {type(value).__name__}"


def _message(err: ErrorDetails, kb: KnowledgeBase, suggest: bool = True) -> Problem:
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc) or "case"
    kind = err["type"]
    ctx = err.get("ctx", {})
    given = err.get("input")
    if loc == ["schema_version"]:
        if kind == "missing":
            return Problem(where, "is required: schema_version: 1")
        return Problem(where, f"must be 1, the case file version (got {_short(given)})")
    if kind == "extra_forbidden":
        if len(loc) == 2 and loc[0] in ANSWER_SECTIONS:
            known = [q.id for q in kb.questions_in(loc[0])]
            hint = did_you_mean(loc[1], known) if suggest else ""
            return Problem(where, f"unknown {_SINGULAR[loc[0]]}{hint}" if hint
                           else f"unknown {_SINGULAR[loc[0]]}; allowed: {', '.join(known)}")
        allowed = ", ".join(["schema_version", "case_id", "subject", "as_of", *ANSWER_SECTIONS, "notes"])
        hint = did_you_mean(loc[-1], allowed.split(", ")) if suggest else ""
        return Problem(where, f"unknown field{hint} (allowed: {allowed})")
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return Problem(where, f"must be one of {expected} (got {_short(given)})")
    if kind in ("greater_than_equal", "less_than_equal", "int_type", "int_parsing", "int_from_float"):
        q = kb.questions.get(loc[-1])
        if q is not None and q.kind == "integer":
            upper = f" to {q.maximum}" if q.maximum is not None else " or more"
            hint = "; leave it out when unknown" if isinstance(given, str) else ""
            return Problem(where, f"must be a whole number from {q.minimum}{upper} "
                                  f"(got {_short(given)}){hint}")
    if kind == "missing":
        return Problem(where, "is required")
    if kind == "model_type" or kind == "dict_type":
        return Problem(where, f"must be a mapping of answers (got {type(given).__name__})")
    if loc == ["case_id"]:
        return Problem(where, "must be a short pseudonymous code (letters, digits, . _ -; "
                              "at most 40 characters; quote it if it looks like a number), never a name")
    if loc == ["as_of"] or kind.startswith("date_"):
        return Problem(where, f"must be a date written YYYY-MM-DD (got {_short(given)})")
    if loc == ["notes"] and kind in ("string_type", "string_too_long"):
        return Problem(where, f"must be text of at most {NOTES_MAX} characters (quote it in YAML)")
    return Problem(where, err["msg"])


def _requires_problems(data: Mapping[str, Any], kb: KnowledgeBase) -> list[Problem]:
    problems = []
    flat: dict[str, Any] = {}
    for section in ANSWER_SECTIONS:
        values = data.get(section) or {}
        flat.update({k: (section, v) for k, v in values.items()})
    for qid, (section, value) in flat.items():
        if value is None:
            continue
        q = kb.questions.get(qid)
        if q is None:
            continue
        for other, allowed in q.requires.items():
            other_value = flat.get(other, (None, None))[1]
            if other_value not in allowed:
                other_section = kb.questions[other].section
                problems.append(Problem(
                    f"{section}.{qid}",
                    f"only allowed with {other_section}.{other}: {' or '.join(allowed)} "
                    f"(got {other}: {other_value if other_value is not None else 'omitted'})",
                ))
    return problems


def _messages(exc: ValidationError, kb: KnowledgeBase) -> list[Problem]:
    """One problem per validation error; suggestions for the first few unknown keys only."""
    problems, unknown = [], 0
    for err in exc.errors(include_url=False):
        unknown += err["type"] == "extra_forbidden"
        problems.append(_message(err, kb, suggest=unknown <= SUGGESTIONS_MAX))
    return problems


def parse_case(data: Any, kb: KnowledgeBase | None = None) -> Case:
    """Validate case data (already parsed from JSON or YAML) and return the Case; raise CaseError."""
    kb = kb or default_knowledge_base()
    if not isinstance(data, dict):
        raise CaseError([Problem("case", "must be a mapping with schema_version: 1")])
    try:
        model = _case_model(kb).model_validate(data)
    except ValidationError as exc:
        raise CaseError(_messages(exc, kb)) from None
    problems = _requires_problems(data, kb)
    if problems:
        raise CaseError(problems)
    answers: dict[str, Answer] = {}
    for section in ANSWER_SECTIONS:
        values = getattr(model, section)
        if values is None:
            continue
        for qid, value in values.model_dump().items():
            if isinstance(value, date):
                answers[qid] = value.isoformat()
            elif value is not None and value != UNKNOWN:
                answers[qid] = value
    subject = str(getattr(model, "subject"))  # noqa: B009 - dynamic model
    for q in kb.questions_in("subject"):
        answers[q.id] = subject
    case = Case(
        answers=dict(sorted(answers.items())),
        subject=subject,
        case_id=getattr(model, "case_id"),  # noqa: B009
        notes=getattr(model, "notes"),  # noqa: B009
        raw=data,
        as_of=getattr(model, "as_of"),  # noqa: B009
    )
    if case.as_of is None:
        return case
    from engine.answer_forms import for_reasoning  # it builds on this module

    return for_reasoning(kb, case)


def load_text(text: str, name: str = "case") -> Any:
    """The data of a case file's JSON or YAML text (JSON is YAML, but JSON errors read better),
    read within CASE_LIMITS, not yet validated; raise CaseError."""
    stripped = text.lstrip()
    try:
        data = (json_io.loads(text, CASE_LIMITS) if stripped.startswith("{")
                else loads(text, CASE_LIMITS))
    except LimitError as exc:  # more values or deeper nesting than a case file has
        raise CaseError([Problem(name, exc.message)]) from None
    except json.JSONDecodeError as exc:
        raise CaseError([Problem(f"{name}:{exc.lineno}", f"is not valid JSON: {exc.msg}")]) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CaseError([Problem(f"{name}{line}",
                                 f"is not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    except RecursionError:
        raise CaseError([Problem(name, "is nested too deeply to be a case file")]) from None
    except ValueError as exc:  # a number with thousands of digits, or a JSON key given twice
        reason = "a number is too long" if "digits" in str(exc) else _SHORT.repr(str(exc))
        raise CaseError([Problem(name, f"cannot be read: {reason}")]) from None
    if data is None:
        raise CaseError([Problem(name, "is empty; a case file needs at least schema_version: 1")])
    return data


def parse_text(text: str, kb: KnowledgeBase | None = None, name: str = "case") -> Case:
    """Parse JSON or YAML text into a Case."""
    data = load_text(text, name)
    try:
        return parse_case(data, kb)
    except RecursionError:
        raise CaseError([Problem(name, "is nested too deeply to be a case file")]) from None


def read_text_limited(stream: Any, name: str) -> str:
    """Read a case file's bytes (at most CASE_FILE_MAX_BYTES) and decode them as UTF-8."""
    raw = stream.read(CASE_FILE_MAX_BYTES + 1)
    if len(raw) > CASE_FILE_MAX_BYTES:
        raise CaseError([Problem(name, f"is larger than {CASE_FILE_MAX_BYTES // 1000} KB; "
                                       "a case file is a few KB")])
    try:
        return str(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(name, f"is not UTF-8 text (byte {exc.start})")]) from None


def read_case(path: Path | str, kb: KnowledgeBase | None = None) -> Case:
    """Read and validate a case file (.json, .yaml or .yml)."""
    p = Path(path)
    try:
        with p.open("rb") as stream:
            text = read_text_limited(stream, p.name)
    except OSError as exc:
        raise CaseError([Problem(str(p), f"cannot be read: {exc.strerror or exc}")]) from None
    return parse_text(text, kb, name=p.name)


def case_from_answers(
    answers: Mapping[str, Answer],
    kb: KnowledgeBase | None = None,
    subject: str = "client",
    case_id: str | None = None,
    notes: str | None = None,
    as_of: date | None = None,
) -> Case:
    """Build a case file from flat answers by question id (the form's state) and validate it."""
    kb = kb or default_knowledge_base()
    data: dict[str, Any] = {"schema_version": 1}
    if case_id:
        data["case_id"] = case_id
    data["subject"] = subject
    if as_of is not None:
        data["as_of"] = as_of.isoformat()
    for section in ANSWER_SECTIONS:
        values = {q.id: answers[q.id] for q in kb.questions_in(section)
                  if answers.get(q.id) not in (None, UNKNOWN)}
        if values:
            data[section] = values
    if notes:
        data["notes"] = notes
    return parse_case(data, kb)


def dump_case(case: Case, fmt: Literal["json", "yaml"]) -> str:
    """Serialise a case file as JSON or YAML; reading it back gives the same case."""
    data = case.to_dict()
    if fmt == "json":
        return json_io.dumps(data) + "\n"
    return dumps(data)
