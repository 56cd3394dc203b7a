"""The patient-view CDS service: discovery entry, request body, and finding the response to assess.

The service asks the EHR to prefetch the patient's latest QuestionnaireResponse for this
Questionnaire. Per CDS Hooks 2.0: a prefetch key with the value null means the EHR has no such
data (no cards); an absent key, or an OperationOutcome in its place, means the EHR did not
fetch it, and then the service fetches it itself from the EHR's FHIR server with the
`fhirAuthorization` token, but only from a server on the configuration's `fhir_servers`
allowlist; otherwise it answers 412 with an OperationOutcome.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine import KnowledgeBase
from engine.errors import Problem
from service.config import ServiceConfig
from service.outcome import ServiceError, error, problems_error
from service.response import STATUSES
from service.terminology import QUESTIONNAIRE_URL

SERVICE_ID = "questionnaire-assessment"
HOOK = "patient-view"
PREFETCH_KEY = "questionnaireResponse"
PREFETCH_TEMPLATE = ("QuestionnaireResponse?patient={{context.patientId}}"
                     f"&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored&_count=1")
FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"


def discovery(kb: KnowledgeBase) -> dict[str, Any]:
    """The discovery document: one service on the patient-view hook."""
    return {"services": [{
        "hook": HOOK,
        "id": SERVICE_ID,
        "title": kb.meta.title,
        "description": (f"Assesses the patient's latest QuestionnaireResponse to the Questionnaire "
                        f"{QUESTIONNAIRE_URL} with the knowledge base '{kb.meta.title}' "
                        f"{kb.meta.version} and returns one card: the assessment, its reasons, "
                        "cautions and what is still open. Supports clinical judgment; it does "
                        "not replace it."),
        "prefetch": {PREFETCH_KEY: PREFETCH_TEMPLATE},
        "usageRequirements": ("The answers are collected with the Questionnaire "
                              f"{QUESTIONNAIRE_URL} (GET /questionnaire on this service)."),
    }]}


class _Lenient(BaseModel):
    # Unknown fields are ignored: CDS clients may send fields of later versions or extensions.
    model_config = ConfigDict(extra="ignore", frozen=True)


class FhirAuthorization(_Lenient):
    """The token the EHR grants the service for its FHIR server."""

    access_token: str = Field(min_length=1, max_length=10_000)
    token_type: Literal["Bearer", "bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class PatientViewContext(_Lenient):
    """The patient-view hook's context."""

    userId: str = Field(min_length=1, max_length=200)
    patientId: str = Field(pattern=FHIR_ID)
    encounterId: str | None = Field(default=None, max_length=200)


class HookRequest(_Lenient):
    """A CDS Hooks service call."""

    hook: str = Field(min_length=1, max_length=100)
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = Field(default=None, max_length=2_000)
    fhirAuthorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirAuthorization needs fhirServer (cds-r-1)")
        return self


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_json(body: bytes) -> Any:
    """Parse a JSON request body; raise a 400 ServiceError naming what is wrong."""
    if not body.strip():
        raise error(400, "the request body is empty; a JSON object is required", "structure")
    try:
        text = body.decode("utf-8")  # JSON is UTF-8 (RFC 8259); json.loads would guess UTF-16 too
    except UnicodeDecodeError:
        raise error(400, "the request body is not UTF-8 text", "structure") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(400, f"the request body is not valid JSON: {exc.msg} (line {exc.lineno}, "
                         f"column {exc.colno})", "structure") from None
    except RecursionError:
        raise error(400, "the request body is nested too deeply", "structure") from None
    except ValueError:  # e.g. an integer of thousands of digits
        raise error(400, "the request body holds a value that cannot be read", "structure") from None


def validation_problems(exc: ValidationError, root: str) -> list[Problem]:
    """Pydantic errors as problems naming the field (never echoing the input)."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append(Problem(f"{root}.{loc}" if loc else root, message))
    return out


def parse_hook_request(body: bytes) -> HookRequest:
    """The validated hook request; raise a 400 ServiceError listing each bad field."""
    data = read_json(body)
    if not isinstance(data, dict):
        raise error(400, "the request body must be a JSON object (a CDS Hooks request)", "structure")
    try:
        request = HookRequest.model_validate(data)
    except ValidationError as exc:
        raise problems_error(400, validation_problems(exc, "request")) from None
    if request.hook != HOOK:
        raise error(400, f"this service answers the {HOOK} hook (got {_short(request.hook)})",
                    "not-supported")
    return request


class NotPrefetched:
    """The prefetch gave nothing usable; `reason` says why (for the 412)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _authored_key(resource: dict[str, Any]) -> datetime:
    text = str(resource.get("authored") or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ours(resource: Any) -> bool:
    return (isinstance(resource, dict) and resource.get("resourceType") == "QuestionnaireResponse"
            and str(resource.get("questionnaire") or "").partition("|")[0] == QUESTIONNAIRE_URL
            and resource.get("status") in STATUSES)


def latest_response(value: Any) -> dict[str, Any] | NotPrefetched | None:
    """The QuestionnaireResponse to assess from a prefetch value (or a fetched Bundle).

    null: no data. A QuestionnaireResponse: itself. A searchset Bundle: its latest response to
    this Questionnaire by `authored` (first in the Bundle's order on a tie), or no data. An
    OperationOutcome: the EHR could not fetch it.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise error(400, f"prefetch.{PREFETCH_KEY} must be a FHIR resource or null", "structure")
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        return NotPrefetched("the EHR reported an error instead of the prefetch (OperationOutcome)")
    if kind == "QuestionnaireResponse":
        return value
    if kind == "Bundle":
        entries = value.get("entry") or []
        if not isinstance(entries, list):
            raise error(400, f"prefetch.{PREFETCH_KEY}.entry must be a list", "structure")
        found = [e["resource"] for e in entries if isinstance(e, dict) and _ours(e.get("resource"))]
        return max(found, key=_authored_key) if found else None
    raise error(400, f"prefetch.{PREFETCH_KEY} must be a Bundle of QuestionnaireResponses, a "
                     f"QuestionnaireResponse or null (got {_short(kind)})", "structure")


def precondition_failed(reason: str) -> ServiceError:
    """The 412 of a response that was neither prefetched nor fetchable."""
    return error(412, f"the patient's QuestionnaireResponse is needed and could not be obtained: {reason}. "
                      f"Prefetch '{PREFETCH_KEY}' ({PREFETCH_TEMPLATE}).", "processing")


async def fetch_latest(request: HookRequest, config: ServiceConfig, client: httpx.AsyncClient,
                       why: str) -> Any:
    """Fetch the latest response from the EHR's FHIR server, if allowed; raise the 412 otherwise.

    `why` says why it is fetched (it was not prefetched, or the EHR's prefetch failed).
    """
    server = (request.fhirServer or "").rstrip("/")
    if request.fhirAuthorization is None or not server:
        raise precondition_failed(f"{why}, and the request grants no FHIR access (fhirAuthorization)")
    if server not in config.fhir_servers:
        raise precondition_failed(f"{why}, and the request's fhirServer is not on this service's "
                                  "allowlist (fhir_servers)")
    params = {"patient": request.context.patientId, "questionnaire": QUESTIONNAIRE_URL,
              "_sort": "-authored", "_count": "1"}
    headers = {"Authorization": f"Bearer {request.fhirAuthorization.access_token}",
               "Accept": "application/fhir+json"}
    try:
        async with client.stream("GET", f"{server}/QuestionnaireResponse", params=params,
                                 headers=headers, timeout=config.fhir_timeout_seconds) as response:
            if response.status_code != 200:
                raise precondition_failed(f"the FHIR server answered HTTP {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > config.max_body_bytes:
                    raise precondition_failed("the FHIR server's answer is too large")
    except httpx.HTTPError as exc:
        raise precondition_failed(f"the FHIR server could not be reached ({type(exc).__name__})") from None
    try:
        bundle = json.loads(body)
    except (ValueError, RecursionError):
        raise precondition_failed("the FHIR server's answer is not JSON") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise precondition_failed("the FHIR server's answer is not a Bundle")
    return bundle
