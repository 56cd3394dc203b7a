"""The CDS Hooks service as a real uvicorn process on a loopback port, called over HTTP with httpx.

Every response is checked against the CDS Hooks JSON shapes (tests/service/schemas/), and every
error body is a FHIR OperationOutcome without a traceback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from engine import KnowledgeBase, assess, parse_case
from engine.vignettes import Vignette, default_vignettes
from service.cards import detail_markdown, indicator, summary
from service.hooks import PREFETCH_KEY, SERVICE_ID
from service.questionnaire import questionnaire
from service.response import response_from_case
from service.terminology import QUESTIONNAIRE_URL
from tests.service import sinks
from tests.service.helpers import (
    ISSUER,
    ROOT,
    Server,
    check_outcome,
    check_schema,
    config_text,
    hook_body,
    hs256_token,
    keys,
    public_pem,
    searchset,
    start_server,
    token,
    unsigned,
)

VIGNETTES = default_vignettes()
HOOK = f"/cds-services/{SERVICE_ID}"
FEEDBACK = f"{HOOK}/feedback"
ORIGIN = "https://ehr.test.invalid"
BODY_LIMIT = 100_000


class _FhirStub(BaseHTTPRequestHandler):
    """A FHIR server stub: answers QuestionnaireResponse searches with a preset Bundle."""

    bundle: ClassVar[dict[str, Any]] = {}
    status = 200
    requests: ClassVar[list[tuple[str, dict[str, list[str]], str | None]]] = []

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        type(self).requests.append((parts.path, parse_qs(parts.query), self.headers.get("Authorization")))
        body = json.dumps(type(self).bundle).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def fhir_stub() -> Iterator[tuple[str, type[_FhirStub]]]:
    """A FHIR server on the loopback interface, as the EHR's."""
    handler = type("Stub", (_FhirStub,), {"bundle": {}, "status": 200, "requests": []})
    stub = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{stub.server_address[1]}/fhir", handler
    finally:
        stub.shutdown()
        stub.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def sink_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test feedback sink writes."""
    return tmp_path_factory.mktemp("sink") / "feedback.jsonl"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink_path: Path,
           fhir_stub: tuple[str, Any]) -> Iterator[Server]:
    """The service with a feedback sink, CORS for one origin, a small body cap and one FHIR server."""
    settings = {"cors_origins": [ORIGIN], "max_body_bytes": BODY_LIMIT, "fhir_servers": [fhir_stub[0]],
                "feedback_sink": "tests.service.sinks:make",
                "feedback_sink_options": {"path": str(sink_path)}}
    running = start_server(tmp_path_factory.mktemp("server"), config_text(settings))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service with the defaults: no feedback sink, no CORS origin."""
    running = start_server(tmp_path_factory.mktemp("bare"), config_text({}))
    yield running
    running.stop()


def call(server: Server, path: str, body: Any = None, *, tok: str | None = "fresh",
         method: str = "POST", headers: dict[str, str] | None = None, content: Any = None) -> httpx.Response:
    """Call the server with a fresh valid token for this endpoint (unless `tok` says otherwise)."""
    sent = dict(headers or {})
    if tok == "fresh":
        tok = token(server.url(path))
    if tok is not None:
        sent["Authorization"] = f"Bearer {tok}"
    if content is None and body is not None:
        content = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    return server.client.request(method, server.url(path), content=content, headers=sent)


def response_of(vignette: Vignette, kb: KnowledgeBase, patient: str = "patient-1",
                **fields: Any) -> dict[str, Any]:
    """The vignette's case as a QuestionnaireResponse of the patient."""
    resource = response_from_case(parse_case(vignette.case, kb), kb, subject_reference=f"Patient/{patient}")
    resource.update(fields)
    return resource


# ---- discovery --------------------------------------------------------------------------------

def test_discovery(server: Server) -> None:
    reply = call(server, "/cds-services", method="GET")
    assert reply.status_code == 200
    body = reply.json()
    check_schema(body, "discovery")
    (service,) = body["services"]
    assert (service["hook"], service["id"]) == ("patient-view", SERVICE_ID)
    template = service["prefetch"][PREFETCH_KEY]
    assert template.startswith("QuestionnaireResponse?patient={{context.patientId}}")
    assert f"questionnaire={QUESTIONNAIRE_URL}" in template


def test_discovery_needs_a_token_for_its_own_url(server: Server) -> None:
    reply = call(server, "/cds-services", method="GET", tok=token(server.url(HOOK)))
    assert reply.status_code == 401
    check_outcome(reply.json())


# ---- hook calls -------------------------------------------------------------------------------

@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.id for v in VIGNETTES])
def test_hook_call_for_every_vignette(server: Server, vignette: Vignette, kb: KnowledgeBase) -> None:
    body = hook_body(searchset(response_of(vignette, kb)))
    check_schema(body, "hook-request")
    reply = call(server, HOOK, body)
    assert reply.status_code == 200, reply.text
    check_schema(reply.json(), "cards")
    (card,) = reply.json()["cards"]
    report = assess(parse_case(vignette.case, kb), explain=True)  # the same case, assessed here
    assert card["summary"] == summary(report, kb)
    assert card["indicator"] == indicator(report)
    assert card["detail"] == detail_markdown(report, kb)
    assert report.spectrum.label in card["summary"]
    assert card["source"]["url"] == server.url("/knowledge-base")
    assert kb.meta.version in card["source"]["label"]
    assert card["overrideReasons"] and card["suggestions"][0]["uuid"]
    text = json.dumps(card)
    assert not [r.id for r in kb.rules if r.id in text]
    assert "because" not in card


def test_the_source_link_opens(server: Server, kb: KnowledgeBase) -> None:
    page = server.client.get(server.url("/knowledge-base"))
    assert page.status_code == 200 and kb.sha256 in page.text and "text/html" in page.headers["content-type"]
    fhir = server.client.get(server.url("/questionnaire"))
    assert fhir.status_code == 200 and fhir.json() == questionnaire(kb)


def test_the_latest_response_to_this_questionnaire_is_assessed(server: Server, kb: KnowledgeBase) -> None:
    by_position: dict[str, Vignette] = {}
    for v in VIGNETTES:
        by_position.setdefault(v.expect.position, v)
    older, newer = list(by_position.values())[:2]
    other = response_of(older, kb, authored="2025-01-01", questionnaire="http://elsewhere.example/Q")
    bundle = searchset(response_of(older, kb, authored="2024-01-01"), other,
                       response_of(newer, kb, authored="2024-06-01T09:00:00+02:00"))
    (card,) = call(server, HOOK, hook_body(bundle)).json()["cards"]
    expected = assess(parse_case({**newer.case, "as_of": "2024-06-01"}, kb), explain=True)
    assert card["detail"] == detail_markdown(expected, kb)


def test_a_single_response_as_prefetch(server: Server, kb: KnowledgeBase) -> None:
    reply = call(server, HOOK, hook_body(response_of(VIGNETTES[0], kb)))
    assert reply.status_code == 200 and len(reply.json()["cards"]) == 1


@pytest.mark.parametrize("prefetch", [None, searchset()], ids=["null", "empty bundle"])
def test_no_response_means_no_cards(server: Server, prefetch: Any) -> None:
    reply = call(server, HOOK, hook_body(prefetch))
    assert reply.status_code == 200 and reply.json() == {"cards": []}
    check_schema(reply.json(), "cards")


@pytest.mark.parametrize("body", [
    hook_body(omit_prefetch=True),
    hook_body({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}),
    hook_body(omit_prefetch=True, fhirServer="https://not-allowed.example/fhir",
              fhirAuthorization={"access_token": "t", "token_type": "Bearer", "expires_in": 60,
                                 "scope": "patient/QuestionnaireResponse.read", "subject": "cds"}),
], ids=["absent", "operation outcome", "server not allowlisted"])
def test_missing_prefetch_is_412(server: Server, body: dict[str, Any]) -> None:
    reply = call(server, HOOK, body)
    assert reply.status_code == 412
    check_outcome(reply.json())
    assert PREFETCH_KEY in reply.json()["issue"][0]["diagnostics"]


def _fetching_body(stub_url: str, **extra: Any) -> dict[str, Any]:
    return hook_body(omit_prefetch=True, fhirServer=stub_url, fhirAuthorization={
        "access_token": "fhir-access-token", "token_type": "Bearer", "expires_in": 60,
        "scope": "patient/QuestionnaireResponse.read", "subject": "cds-service", "patient": "patient-1"},
        **extra)


def test_a_missing_prefetch_is_fetched_from_an_allowlisted_fhir_server(
        server: Server, fhir_stub: tuple[str, Any], kb: KnowledgeBase) -> None:
    url, stub = fhir_stub
    stub.bundle, stub.status = searchset(response_of(VIGNETTES[1], kb)), 200
    body = _fetching_body(url)
    check_schema(body, "hook-request")
    reply = call(server, HOOK, body)
    assert reply.status_code == 200, reply.text
    (card,) = reply.json()["cards"]
    assert card["detail"] == detail_markdown(assess(parse_case(VIGNETTES[1].case, kb), explain=True), kb)
    path, query, authorization = stub.requests[-1]
    assert path == "/fhir/QuestionnaireResponse"
    assert query["patient"] == ["patient-1"] and query["questionnaire"] == [QUESTIONNAIRE_URL]
    assert authorization == "Bearer fhir-access-token"
    stub.status = 503
    failed = call(server, HOOK, body)
    assert failed.status_code == 412 and "HTTP 503" in failed.json()["issue"][0]["diagnostics"]


def test_a_response_that_does_not_match_is_422_with_one_issue_per_problem(
        server: Server, kb: KnowledgeBase) -> None:
    resource = response_of(VIGNETTES[0], kb)
    resource["item"].append({"linkId": "no-such-item", "answer": [{"valueInteger": 1}]})
    resource["item"][0]["item"][0]["answer"] = [{"valueBoolean": True}]
    reply = call(server, HOOK, hook_body(resource))
    assert reply.status_code == 422
    body = reply.json()
    check_outcome(body)
    assert len(body["issue"]) == 2
    expression = "QuestionnaireResponse.repeat(item).where(linkId = 'no-such-item')"
    assert body["issue"][1]["expression"] == [expression]


def test_another_patients_response_is_refused(server: Server, kb: KnowledgeBase) -> None:
    reply = call(server, HOOK, hook_body(response_of(VIGNETTES[0], kb, patient="someone-else")))
    assert reply.status_code == 422
    assert "another patient" in reply.json()["issue"][0]["diagnostics"]


# ---- bad tokens -------------------------------------------------------------------------------

def _bad_tokens(server: Server) -> dict[str, str | None]:
    aud = server.url(HOOK)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": aud, "exp": now + 60, "iat": now}
    return {
        "missing": None,
        "unsigned": unsigned({**claims, "jti": str(uuid.uuid4())}),
        "shared secret": hs256_token({**claims, "jti": str(uuid.uuid4())}, public_pem()),
        "wrong key": token(aud, key=keys().stranger),
        "expired": token(aud, issued=-600),
        "wrong audience": token(server.url("/cds-services")),
        "unknown issuer": token(aud, iss="https://stranger.example"),
    }


@pytest.mark.parametrize("kind", ["missing", "unsigned", "shared secret", "wrong key", "expired",
                                  "wrong audience", "unknown issuer"])
def test_bad_tokens_are_refused(server: Server, kind: str, kb: KnowledgeBase) -> None:
    tok = _bad_tokens(server)[kind]
    reply = call(server, HOOK, hook_body(searchset(response_of(VIGNETTES[0], kb))), tok=tok)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")
    check_outcome(reply.json())
    assert "cards" not in reply.text


def test_a_replayed_token_is_refused(server: Server, kb: KnowledgeBase) -> None:
    tok = token(server.url(HOOK))
    body = hook_body(searchset(response_of(VIGNETTES[0], kb)))
    assert call(server, HOOK, body, tok=tok).status_code == 200
    again = call(server, HOOK, body, tok=tok)
    assert again.status_code == 401 and "already used" in again.json()["issue"][0]["diagnostics"]


def test_es384_tokens_are_accepted(server: Server) -> None:
    assert call(server, "/cds-services", method="GET", tok=token(server.url("/cds-services"),
                                                                  alg="ES384")).status_code == 200


# ---- bad bodies -------------------------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    (b"{not json", "not valid JSON"),
    (b"", "empty"),
    (b"[1, 2]", "must be a JSON object"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[" * 50_000, "nested too deeply"),
    (json.dumps({"hook": "patient-view"}).encode(), "request.hookInstance"),
    (json.dumps(hook_body(None, hook="order-sign")).encode(), "answers the patient-view hook"),
    (json.dumps({**hook_body(None), "context": {"userId": "Practitioner/1", "patientId": "../x"}}).encode(),
     "request.context.patientId"),
], ids=["not json", "empty", "not an object", "not utf-8", "deep", "missing fields", "other hook",
        "bad patient id"])
def test_malformed_bodies_are_400(server: Server, content: bytes, expected: str) -> None:
    reply = call(server, HOOK, content=content, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    check_outcome(reply.json())
    assert any(expected in i["diagnostics"] for i in reply.json()["issue"]), reply.text


def test_oversize_bodies_are_413(server: Server) -> None:
    big = json.dumps(hook_body({"resourceType": "Bundle", "pad": "x" * BODY_LIMIT})).encode()
    reply = call(server, HOOK, content=big, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
    check_outcome(reply.json())
    assert str(BODY_LIMIT) in reply.json()["issue"][0]["diagnostics"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while streaming
        for start in range(0, len(big), 8192):
            yield big[start:start + 8192]

    streamed = call(server, HOOK, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    check_outcome(streamed.json())


def test_unknown_paths_and_services(server: Server) -> None:
    reply = call(server, "/cds-services/no-such-service", hook_body(None))
    assert reply.status_code == 404
    check_outcome(reply.json())
    missing = server.client.get(server.url("/nothing-here"))
    assert missing.status_code == 404
    check_outcome(missing.json())


# ---- feedback ---------------------------------------------------------------------------------

def _feedback(card: str, outcome: str, **fields: Any) -> dict[str, Any]:
    item = {"card": card, "outcome": outcome, "outcomeTimestamp": datetime.now(UTC).isoformat()
            .replace("+00:00", "Z"), **fields}
    body = {"feedback": [item]}
    check_schema(body, "feedback")
    return body


def test_feedback_is_stored_through_the_sink(server: Server, sink_path: Path, kb: KnowledgeBase) -> None:
    resource = response_of(VIGNETTES[2], kb, id="qr-17")
    (card,) = call(server, HOOK, hook_body(searchset(resource))).json()["cards"]
    reason = card["overrideReasons"][0]
    overridden = _feedback(card["uuid"], "overridden", overrideReason={
        "reason": {"system": reason["system"], "code": reason["code"]}, "userComment": "disagree"})
    reply = call(server, FEEDBACK, overridden)
    assert reply.status_code == 200, reply.text
    suggestion = card["suggestions"][0]["uuid"]
    accepted = _feedback(card["uuid"], "accepted", acceptedSuggestions=[{"id": suggestion}])
    assert call(server, FEEDBACK, accepted).status_code == 200
    lines = sinks.read(sink_path)
    issued = [x for x in lines if x["kind"] == "card" and x["card"] == card["uuid"]]
    assert len(issued) == 1
    assert issued[0]["questionnaire_response"] == "QuestionnaireResponse/qr-17"
    assert issued[0]["case_id"] == VIGNETTES[2].case.get("case_id")
    assert issued[0]["position"] == VIGNETTES[2].expect.position
    assert "patient-1" not in json.dumps(issued[0])
    outcomes = [x for x in lines if x["kind"] == "feedback" and x["card"] == card["uuid"]]
    assert [o["outcome"] for o in outcomes] == ["overridden", "accepted"]
    assert (outcomes[0]["reason_system"], outcomes[0]["reason_code"]) == (reason["system"], reason["code"])
    assert outcomes[0]["user_comment"] == "disagree"
    assert outcomes[1]["accepted_suggestions"] == [card["suggestions"][0]["uuid"]]


def test_feedback_accepts_a_token_for_the_service_url(server: Server) -> None:
    body = _feedback("5b2c9e54-7c4e-4a51-9c3c-1f1b5c1a2b3c", "overridden",
                     overrideReason={"userComment": "not now"})
    assert call(server, FEEDBACK, body, tok=token(server.url(HOOK))).status_code == 200


@pytest.mark.parametrize("body, expected", [
    ({"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2024-01-01T00:00:00Z"}]},
     "acceptedSuggestions"),
    ({"feedback": [{"card": "c", "outcome": "ignored", "outcomeTimestamp": "2024-01-01T00:00:00Z"}]},
     "feedback.feedback.0.outcome"),
    ({"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2024-01-01T00:00:00"}]},
     "UTC offset"),
    ({"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {},
                    "outcomeTimestamp": "2024-01-01T00:00:00Z"}]}, "a reason, a userComment, or both"),
    ({"feedback": []}, "feedback.feedback"),
], ids=["accepted without suggestion", "bad outcome", "no offset", "empty reason", "empty"])
def test_bad_feedback_is_400(server: Server, body: dict[str, Any], expected: str) -> None:
    reply = call(server, FEEDBACK, body)
    assert reply.status_code == 400
    check_outcome(reply.json())
    assert any(expected in i["diagnostics"] for i in reply.json()["issue"]), reply.text


def test_feedback_without_a_sink_is_503(bare_server: Server) -> None:
    body = _feedback("5b2c9e54-7c4e-4a51-9c3c-1f1b5c1a2b3c", "overridden",
                     overrideReason={"userComment": "x"})
    reply = call(bare_server, FEEDBACK, body)
    assert reply.status_code == 503
    check_outcome(reply.json())
    assert "no feedback sink is configured" in reply.json()["issue"][0]["diagnostics"]
    assert call(bare_server, FEEDBACK, body, tok=None).status_code == 401


# ---- CORS -------------------------------------------------------------------------------------

def test_cors_only_for_configured_origins(server: Server, bare_server: Server) -> None:
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = server.client.options(server.url(HOOK), headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    denied = server.client.options(server.url(HOOK), headers={**preflight, "Origin": "https://evil.example"})
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers
    assert bare_server.client.options(bare_server.url(HOOK), headers=preflight).status_code == 400
    simple = call(server, "/cds-services", method="GET", headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    refused = call(server, "/cds-services", method="GET", tok=None, headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN


# ---- logs -------------------------------------------------------------------------------------

def test_no_case_content_in_the_logs(server: Server, fhir_stub: tuple[str, Any], kb: KnowledgeBase) -> None:
    secrets = ["PATIENT-SECRET-7731", "CASE-SECRET-7731", "NOTES-SECRET-7731", "LINK-SECRET-7731",
               "COMMENT-SECRET-7731", "TOKEN-SECRET-7731"]
    patient, case_id, notes, link, comment, access = secrets
    case = {**VIGNETTES[0].case, "case_id": case_id, "notes": notes}
    resource = response_from_case(parse_case(case, kb), kb, subject_reference=f"Patient/{patient}")
    (card,) = call(server, HOOK, hook_body(searchset(resource), patient=patient)).json()["cards"]
    broken = json.loads(json.dumps(resource))
    broken["item"].append({"linkId": link, "answer": [{"valueString": notes}]})
    assert call(server, HOOK, hook_body(broken, patient=patient)).status_code == 422
    assert call(server, HOOK, hook_body(broken, patient=patient), tok=token("x")).status_code == 401
    url, stub = fhir_stub
    stub.bundle, stub.status = searchset(resource), 200
    fetching = _fetching_body(url, context={"userId": "Practitioner/1", "patientId": patient})
    fetching["fhirAuthorization"]["access_token"] = access
    assert call(server, HOOK, fetching).status_code == 200
    feedback = _feedback(card["uuid"], "overridden", overrideReason={"userComment": comment})
    assert call(server, FEEDBACK, feedback).status_code == 200
    time.sleep(0.5)  # let the server flush its log lines
    log = server.log()
    assert f'"POST {HOOK} HTTP/1.1" 200' in log and "token refused" in log  # the log is captured
    assert [s for s in secrets if s in log] == []


# ---- several workers --------------------------------------------------------------------------

def test_several_workers_share_one_replay_cache(tmp_path: Path, kb: KnowledgeBase) -> None:
    settings = {"replay_cache": f"sqlite:{tmp_path / 'jti.sqlite'}"}
    running = start_server(tmp_path, config_text(settings), "--workers", "2")
    try:
        deadline = time.monotonic() + 60  # /healthz answers as soon as one worker is up
        while len(set(re.findall(r"Started server process \[(\d+)\]", running.log()))) < 2:
            assert time.monotonic() < deadline, running.log()
            time.sleep(0.2)
        tok = token(running.url(HOOK))
        body = hook_body(searchset(response_of(VIGNETTES[0], kb)))
        statuses = []
        for _ in range(8):  # a new connection each time, so both workers get some
            with httpx.Client(timeout=30) as fresh:
                reply = fresh.post(running.url(HOOK), json=body, headers={"Authorization": f"Bearer {tok}"})
                statuses.append(reply.status_code)
        assert sorted(statuses) == [200] + [401] * 7, running.log()
    finally:
        running.stop()


def test_several_workers_without_a_shared_replay_cache_do_not_start(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(config_text({}), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "service", "--port", "9", "--config", str(path),
                           "--workers", "2"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2
    assert "shared replay cache" in proc.stderr and "Traceback" not in proc.stderr
