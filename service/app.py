"""The CDS Hooks service as a FastAPI application (stateless: any worker can answer any call).

Endpoints: GET /cds-services (discovery), POST /cds-services/{id} (the patient-view hook),
POST /cds-services/{id}/feedback; without authentication: GET /questionnaire (the
Questionnaire), GET /knowledge-base (the cards' source link) and GET /healthz (for a load
balancer). Every /cds-services call needs the EHR's bearer JWT (a router-level dependency, so
no route can forget it). Nothing about a case or a patient is logged.
"""

from __future__ import annotations

import html
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.telemetry import TelemetryConfig
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

import engine
from engine import KnowledgeBase, Report, default_knowledge_base
from engine.inference import Evaluator
from service.auth import AuthError, Caller, TokenVerifier
from service.cards import build_cards, report_for_cards
from service.config import ConfigError, ServiceConfig, load_config
from service.evaluators import EvaluatorPool
from service.feedback import FeedbackRequest, FeedbackSink, IssuedCard, load_sink, records
from service.hooks import (
    PREFETCH_KEY,
    SERVICE_ID,
    NotPrefetched,
    discovery,
    fetch_latest,
    latest_response,
    parse_hook_request,
    read_json,
    validation_problems,
)
from service.limits import BodyLimit, BodyTooLarge, ContainErrors, too_large
from service.outcome import ServiceError, error, issue, outcome, problems_error
from service.questionnaire import layout
from service.replay import replay_cache
from service.response import ResponseError, case_from_response

log = logging.getLogger("service")
CONFIG_ENV = "DETACHMENT_CDS_CONFIG"
BASE_URL_ENV = "DETACHMENT_CDS_BASE_URL"
_STATUS_TEXT = {404: ("no such endpoint", "not-found"), 405: ("method not allowed here", "not-supported")}



def quiet_library_logs() -> None:
    """Keep case content out of library logs, also after a logging configuration is applied.

    httpx logs every request URL at INFO, and a FHIR search URL names the patient. experta's
    watcher loggers name facts (the engine disables them, but `logging.config.dictConfig`, as
    uvicorn applies it, re-enables every existing logger): a level above CRITICAL survives that.
    """
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    experta = logging.getLogger("experta")
    experta.setLevel(logging.CRITICAL + 10)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("experta."):
            logging.getLogger(name).disabled = True


quiet_library_logs()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _assess(resource: dict[str, Any], patient_id: str, source_url: str,
            evaluator: Evaluator) -> tuple[Report, list[dict[str, Any]]]:
    """Check and convert the response, assess it on this request's own engine, build the cards."""
    try:
        case = case_from_response(resource, evaluator.kb, patient_id)
    except ResponseError as exc:
        raise problems_error(422, exc.problems) from None
    report = report_for_cards(case, evaluator)
    return report, build_cards(report, evaluator.kb, source_url)


def _reference(resource: dict[str, Any]) -> str | None:
    ident = resource.get("id")
    if not isinstance(ident, str):
        return None
    version = (resource.get("meta") or {}).get("versionId")
    return f"QuestionnaireResponse/{ident}" + (f"/_history/{version}" if isinstance(version, str) else "")


def _about_page(kb: KnowledgeBase) -> str:
    sections = "".join(f"<li>{html.escape(s)}</li>" for s in kb.meta.sections)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(kb.meta.title)}"
            f"</title></head><body><h1>{html.escape(kb.meta.title)}</h1>"
            f"<p>Knowledge base version {html.escape(kb.meta.version)}, sha256 "
            f"<code>{html.escape(kb.sha256)}</code>; engine {html.escape(engine.ENGINE_VERSION)}.</p>"
            f"<p>Source: {html.escape(kb.meta.source_document)}. {len(kb.rules)} rules, each citing a "
            f"section of the source and a verbatim quote.</p><h2>Sections of the source</h2><ul>{sections}"
            "</ul><p>Supports clinical judgment; it does not replace it.</p></body></html>")


def create_app(config: ServiceConfig, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the application for one configuration (its `base_url` must be set)."""
    kb = kb or default_knowledge_base()
    if config.base_url is None:
        raise ConfigError([engine.Problem("base_url", "is required: the URL the EHR calls this service at")])
    base = config.base_url
    layout(kb)  # build and validate the Questionnaire before the first call
    verifier = TokenVerifier(config, replay_cache(config.replay_cache, config.replay_cache_size))
    spec = config.sink_spec()
    sink: FeedbackSink | None = load_sink(*spec) if spec else None
    if not config.issuers:
        log.warning("no issuers are configured: every /cds-services call will be refused (401)")
    source_url = f"{base}/knowledge-base"
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        quiet_library_logs()  # after the server's logging configuration
        state["pool"] = await anyio.to_thread.run_sync(EvaluatorPool, kb, config.engines)
        # trust_env=False: no proxy from the environment; requests go only where configured.
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
            state["http"] = client
            yield

    # FastAPI's native OpenTelemetry is switched off outright (it records request bodies and
    # exception messages, and FASTAPI_OTEL_AUTO_CONFIGURE would add exporters): no telemetry.
    telemetry: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False,
                                  "operation_spans": False, "auto_configure": False}
    app = FastAPI(title=kb.meta.title, version=layout(kb).version, docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan, telemetry=telemetry)

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return _json(exc.outcome, exc.status, exc.headers)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, __: BodyTooLarge) -> JSONResponse:
        return _json(too_large(config.max_body_bytes), 413)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [issue(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}", "invalid") for e in exc.errors()]
        return _json(outcome(issues), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        text, code = _STATUS_TEXT.get(exc.status_code, ("request refused", "processing"))
        return _json(outcome([issue(text, code)]), exc.status_code)

    async def authenticate(request: Request) -> Caller:
        """The verified caller; the audience is this endpoint's URL (feedback: also the service's)."""
        path = request.url.path.rstrip("/")
        audiences = {base + path}
        if path.endswith("/feedback"):
            audiences.add(base + path.removesuffix("/feedback"))
        header = request.headers.get("authorization")
        try:
            if verifier.may_block:
                return await anyio.to_thread.run_sync(verifier.verify, header, audiences)
            return verifier.verify(header, audiences)
        except AuthError as exc:
            log.warning("token refused: %s", exc.message)
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else None
            raise error(exc.status, exc.message, exc.code, headers) from None

    def known_service(service_id: str) -> None:
        if service_id != SERVICE_ID:
            raise error(404, f"no CDS service with this id; see GET {base}/cds-services", "not-found")

    cds = APIRouter(prefix="/cds-services", dependencies=[Depends(authenticate)])

    @cds.get("")
    async def discover() -> JSONResponse:
        return _json(discovery(kb))

    @cds.post("/{service_id}")
    async def hook(service_id: str, request: Request,
                   caller: Caller = Depends(authenticate)) -> JSONResponse:  # noqa: B008
        started = time.perf_counter()
        known_service(service_id)
        call = parse_hook_request(await request.body())
        prefetch = call.prefetch or {}
        chosen = (latest_response(prefetch[PREFETCH_KEY]) if PREFETCH_KEY in prefetch
                  else NotPrefetched("it was not prefetched"))
        if isinstance(chosen, NotPrefetched):  # fetch it, or answer 412
            chosen = latest_response(await fetch_latest(call, config, state["http"], chosen.reason))
            if isinstance(chosen, NotPrefetched):  # fetch_latest returns Bundles only; kept for the types
                raise error(412, "the FHIR server answered an OperationOutcome", "processing")
        if chosen is None:
            log.info("%s: no response to assess, no cards (%.1f ms)", service_id,
                     (time.perf_counter() - started) * 1000)
            return _json({"cards": []})
        pool: EvaluatorPool = state["pool"]
        report, cards = await pool.run(partial(_assess, chosen, call.context.patientId, source_url))
        if sink is not None:
            issued = [IssuedCard(
                card=c["uuid"], service_id=service_id, hook_instance=call.hookInstance,
                issuer=caller.iss, tenant=caller.tenant, questionnaire_response=_reference(chosen),
                case_id=report.case_id, position=report.spectrum.position, indicator=c["indicator"],
                knowledge_base_version=kb.meta.version, knowledge_base_sha256=kb.sha256,
                engine_version=engine.ENGINE_VERSION, issued_at=datetime.now(UTC)) for c in cards]
            try:
                for record in issued:
                    await anyio.to_thread.run_sync(sink.card_issued, record)
            except Exception as exc:  # the advice stands even when recording it fails
                log.warning("the feedback sink did not record an issued card (%s)", type(exc).__name__)
        log.info("%s: %d card(s) (%.1f ms)", service_id, len(cards), (time.perf_counter() - started) * 1000)
        return _json({"cards": cards})

    @cds.post("/{service_id}/feedback")
    async def feedback(service_id: str, request: Request,
                       caller: Caller = Depends(authenticate)) -> JSONResponse:  # noqa: B008
        known_service(service_id)
        if sink is None:
            raise error(503, "feedback is not stored: no feedback sink is configured (feedback_store_url "
                             "or feedback_sink in the service configuration)", "not-supported")
        data = read_json(await request.body())
        try:
            body = FeedbackRequest.model_validate(data)
        except ValidationError as exc:
            raise problems_error(400, validation_problems(exc, "feedback")) from None
        rows = records(body, service_id, caller.iss, caller.tenant, datetime.now(UTC))
        try:
            await anyio.to_thread.run_sync(sink.feedback, rows)
        except Exception as exc:
            log.warning("the feedback sink failed (%s)", type(exc).__name__)
            raise error(503, "the feedback could not be stored; nothing was recorded", "transient") from None
        log.info("%s: %d feedback outcome(s) recorded", service_id, len(rows))
        return _json({"recorded": len(rows)})

    app.include_router(cds)

    @app.get("/questionnaire")
    async def get_questionnaire() -> JSONResponse:
        return JSONResponse(layout(kb).resource, media_type="application/fhir+json")

    @app.get("/knowledge-base")
    async def about() -> HTMLResponse:
        return HTMLResponse(_about_page(kb))

    @app.get("/healthz")
    async def health() -> JSONResponse:
        return _json({"status": "ok"})

    # Added innermost first: CORS outermost (its headers reach every answer, errors included),
    # then the error containment, then the body cap.
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    app.add_middleware(ContainErrors)
    app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_credentials=False,
                       allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["Authorization", "Content-Type"], max_age=600)
    return app


def factory() -> FastAPI:
    """The application for uvicorn workers: the configuration file and base URL from the environment."""
    config = load_config(os.environ.get(CONFIG_ENV) or None)
    base = os.environ.get(BASE_URL_ENV)
    if base and config.base_url is None:
        config = config.model_copy(update={"base_url": base.rstrip("/")})
    return create_app(config)
