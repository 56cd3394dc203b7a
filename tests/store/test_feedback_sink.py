"""The case store as the service's feedback sink, over a real uvicorn process and HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from engine import KnowledgeBase, parse_case
from engine.vignettes import default_vignettes
from service.config import ConfigError, parse_config
from service.hooks import SERVICE_ID
from service.response import response_from_case
from store import audit
from store.cases import create_client
from store.db import Store
from store.models import AuditEntry, CardFeedback, IssuedCard
from tests.service.helpers import ROOT, config_text, hook_body, searchset, start_server, token
from tests.store.conftest import url_text

HOOK = f"/cds-services/{SERVICE_ID}"


def test_the_service_does_not_import_the_store_unless_configured() -> None:
    code = ("import sys, service.app, service.config; from service.config import ServiceConfig; "
            "service.app.create_app(ServiceConfig(base_url='http://127.0.0.1:1')); "
            "print('store' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_sink_setting_only() -> None:
    with pytest.raises(ConfigError, match="not both"):
        parse_config({"feedback_store_url": "postgresql+psycopg://x@/y", "feedback_sink": "a.b:c"})
    assert parse_config({"feedback_store_url": "sqlite:///x"}).sink_spec() == (
        "store.feedback_sink:sink", {"url": "sqlite:///x"})


def test_cards_and_feedback_go_to_the_store(store: Store, store_url: URL, tmp_path: Path,
                                            kb: KnowledgeBase) -> None:
    vignette = next(v for v in default_vignettes() if v.case.get("case_id"))
    code = vignette.case["case_id"]
    create_client(store, code, "dr-a")
    server = start_server(tmp_path, config_text({"feedback_store_url": url_text(store_url)}))
    try:
        resource = response_from_case(parse_case(vignette.case, kb), kb,
                                      subject_reference="Patient/patient-1")
        resource["id"] = "qr-1"
        reply = server.client.post(server.url(HOOK), content=json.dumps(hook_body(searchset(resource))),
                                   headers={"Authorization": f"Bearer {token(server.url(HOOK))}",
                                            "Content-Type": "application/json"})
        assert reply.status_code == 200, reply.text
        (card,) = reply.json()["cards"]
        reason = card["overrideReasons"][0]
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body: dict[str, Any] = {"feedback": [{
            "card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": stamp,
            "overrideReason": {"reason": {"system": reason["system"], "code": reason["code"]},
                               "userComment": "not this client"}}]}
        path = f"{HOOK}/feedback"
        reply = server.client.post(server.url(path), content=json.dumps(body),
                                   headers={"Authorization": f"Bearer {token(server.url(path))}",
                                            "Content-Type": "application/json"})
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"recorded": 1}
    finally:
        server.stop()
    with store.session() as s:
        issued = s.execute(select(IssuedCard)).scalar_one()
        client_id = s.execute(select(AuditEntry.client_id).where(AuditEntry.action == "create")).scalar_one()
        assert issued.card == card["uuid"] and issued.client_id == client_id
        assert issued.questionnaire_response == "QuestionnaireResponse/qr-1"
        assert issued.position == vignette.expect.position
        fb = s.execute(select(CardFeedback)).scalar_one()
        assert (fb.outcome, fb.reason_code) == ("overridden", reason["code"])
        assert fb.user_comment == "not this client"
        assert fb.client_id == client_id
        actions = [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
        assert actions == ["create", "card", "override"]
        assert audit.verify(s).ok
