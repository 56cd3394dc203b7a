"""FHIR OperationOutcome bodies for every error the service answers (CDS Hooks: "Returning
OperationOutcome"), and the exception that carries one to the response."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from engine.errors import Problem

_ITEM = re.compile(r"^item '([^']*)'")


class ServiceError(Exception):
    """An error answered with an HTTP status and an OperationOutcome."""

    def __init__(self, status: int, outcome: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.outcome = outcome
        self.headers = headers or {}


def _expression(where: str) -> str | None:
    """A FHIRPath for a problem about an item of a QuestionnaireResponse."""
    match = _ITEM.match(where)
    if match:
        return f"QuestionnaireResponse.repeat(item).where(linkId = '{match.group(1)}')"
    if where.startswith("QuestionnaireResponse."):
        return where.split(":")[0]
    return None


def issue(message: str, code: str = "processing", severity: str = "error",
          expression: str | None = None) -> dict[str, Any]:
    """One OperationOutcome issue."""
    out: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        out["expression"] = [expression]
    return out


def outcome(issues: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """An OperationOutcome resource."""
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def error(status: int, message: str, code: str = "processing",
          headers: dict[str, str] | None = None) -> ServiceError:
    """A ServiceError with one issue."""
    return ServiceError(status, outcome([issue(message, code)]), headers)


def problems_error(status: int, problems: Iterable[Problem], code: str = "invalid") -> ServiceError:
    """A ServiceError with one issue per problem (each names its field or item)."""
    return ServiceError(status, outcome(issue(str(p), code, expression=_expression(p.where))
                                        for p in problems))
