"""In process: unexpected failures give a bare 500 and a log line without content; no telemetry.

In process (httpx's ASGI transport, with the app's lifespan): the failure is injected, which a
real server cannot be made to do from outside.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

import service.app
from service.config import ServiceConfig
from service.hooks import SERVICE_ID
from tests.service.helpers import ISSUER, check_outcome, hook_body, keys, searchset, token

BASE = "http://testserver"


def test_an_internal_error_is_a_bare_500(monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: Any) -> Any:
        raise ValueError("SECRET-CASE-CONTENT in an exception message")

    monkeypatch.setattr(service.app, "_assess", broken)
    issuers = [{"iss": ISSUER, "jwks": keys().jwks()}]
    config = ServiceConfig.model_validate({"base_url": BASE, "issuers": issuers})
    resource = {"resourceType": "QuestionnaireResponse", "status": "completed",
                "questionnaire": service.app.layout(service.app.default_knowledge_base()).canonical}
    path = f"/cds-services/{SERVICE_ID}"
    app = service.app.create_app(config)

    async def run() -> httpx.Response:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                return await client.post(path, json=hook_body(searchset(resource)),
                                         headers={"Authorization": f"Bearer {token(BASE + path)}"})

    with caplog.at_level(logging.INFO, logger="service"):
        reply = asyncio.run(run())
    assert reply.status_code == 500
    check_outcome(reply.json())
    assert "SECRET" not in reply.text
    assert any("internal error: ValueError at" in r.getMessage() for r in caplog.records)
    assert not any("SECRET" in r.getMessage() for r in caplog.records)


def test_fastapi_telemetry_is_off_even_when_the_environment_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    app = service.app.create_app(ServiceConfig.model_validate({"base_url": BASE}))
    settings = app._telemetry  # FastAPI keeps the effective settings here
    assert not any(settings[k] for k in ("tracing", "metrics", "logs", "operation_spans", "auto_configure"))
