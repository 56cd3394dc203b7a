"""Bearer JWT checks, in process (the same checks over HTTP are in test_server), and replay caches."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from service.auth import AuthError, TokenVerifier
from service.config import ConfigError, ServiceConfig, load_config, parse_config
from service.replay import MemoryReplayCache, ReplayCacheFull, SqliteReplayCache
from tests.service.helpers import ISSUER, RSA_KID, config_text, hs256_token, keys, public_pem, token, unsigned

AUD = "http://127.0.0.1:9/cds-services/questionnaire-assessment"


def verifier(settings: dict[str, Any] | None = None, **issuer: Any) -> TokenVerifier:
    issuer = issuer or {"jwks": keys().jwks()}
    config = ServiceConfig.model_validate({"issuers": [{"iss": ISSUER, **issuer}], **(settings or {})})
    return TokenVerifier(config, MemoryReplayCache(1000))


def refused(v: TokenVerifier, tok: str | None, aud: str = AUD) -> str:
    with pytest.raises(AuthError) as err:
        v.verify(None if tok is None else f"Bearer {tok}", {aud})
    return err.value.message


def test_rs384_and_es384_are_accepted() -> None:
    v = verifier()
    assert v.verify(f"Bearer {token(AUD)}", {AUD}).iss == ISSUER
    caller = v.verify(f"Bearer {token([AUD, 'https://other'], alg='ES384')}", {AUD})
    assert caller.tenant == "tenant-1"


def test_every_bad_token_is_refused_with_its_reason() -> None:
    v = verifier()
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUD, "exp": now + 60, "iat": now, "jti": "j-none"}
    hs = hs256_token(base, public_pem())
    cases = {
        "missing": (None, "a bearer token is required"),
        "garbage": ("not.a.jwt", "not a well-formed JWT"),
        "unsigned": (unsigned(base), "unsigned tokens (alg none) are refused"),
        "shared secret": (hs, "shared-secret algorithms (HS256) are refused"),
        "RS256": (token(AUD, alg="RS256"), "algorithm RS256 is not accepted"),
        "wrong key": (token(AUD, key=keys().stranger), "signature does not verify"),
        "unknown kid": (token(AUD, kid="nobody"), "no key 'nobody'"),
        "ec key named for rsa": (token(AUD, alg="ES384", kid=RSA_KID), "is for RS384, not ES384"),
        "expired": (token(AUD, issued=-600, lifetime=60), "has expired"),
        "wrong audience": (token("https://elsewhere.example/cds-services/x"), "audience (aud) is not this"),
        "unknown issuer": (token(AUD, iss="https://stranger.example"), "not on this service's allowlist"),
        "issued in the future": (token(AUD, issued=600), "issued in the future"),
        "too long lived": (token(AUD, lifetime=3600), "expires too far ahead"),
        "no jti": (token(AUD, drop=("jti",)), "lacks the required claim jti"),
        "no exp": (token(AUD, drop=("exp",)), "lacks the required claim exp"),
        "jku not allowed": (token(AUD, headers={"jku": "https://evil.example/jwks"}), "jku is not on"),
        "typ": (token(AUD, headers={"typ": "at+jwt"}), "typ must be JWT"),
    }
    for name, (tok, reason) in cases.items():
        assert reason in refused(v, tok), name


def test_a_token_is_accepted_once() -> None:
    v = verifier()
    tok = token(AUD)
    v.verify(f"Bearer {tok}", {AUD})
    assert "already used" in refused(v, tok)


def test_memory_replay_cache_forgets_expired_tokens_and_is_bounded() -> None:
    now = [1000.0]
    cache = MemoryReplayCache(max_entries=2, clock=lambda: now[0])
    assert cache.first_use("i", "a", 1010) and cache.first_use("i", "b", 1020)
    assert not cache.first_use("i", "a", 1010)
    with pytest.raises(ReplayCacheFull):
        cache.first_use("i", "c", 1030)
    now[0] = 1015  # 'a' has expired: room again, and 'b' is still remembered
    assert cache.first_use("i", "c", 1030)
    assert not cache.first_use("i", "b", 1020)
    assert len(cache) == 2
    now[0] = 1025  # 'b' has expired too
    assert cache.first_use("other-issuer", "c", 1040)  # a jti is unique per issuer
    assert not cache.first_use("i", "c", 1030)


def test_sqlite_replay_cache_is_shared_between_processes_connections(tmp_path: Path) -> None:
    path = tmp_path / "jti.sqlite"
    worker_a, worker_b = SqliteReplayCache(path), SqliteReplayCache(path)
    try:
        exp = time.time() + 60
        assert worker_a.first_use(ISSUER, "j-1", exp)
        assert not worker_b.first_use(ISSUER, "j-1", exp)
        assert worker_b.first_use(ISSUER, "j-2", exp)
        assert not worker_a.first_use(ISSUER, "j-2", exp)
    finally:
        worker_a.close()
        worker_b.close()


class _JwksHandler(BaseHTTPRequestHandler):
    jwks: ClassVar[dict[str, Any]] = {}
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = json.dumps(type(self).jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, type[_JwksHandler]]]:
    """A JWKS URL on the loopback interface."""
    handler = type("Handler", (_JwksHandler,), {"jwks": keys().jwks(), "hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_keys_from_a_jwks_url_are_cached_and_refetched_rarely(jwks_server: tuple[str, Any]) -> None:
    url, handler = jwks_server
    v = verifier(jwks_url=url)
    v.verify(f"Bearer {token(AUD)}", {AUD})
    v.verify(f"Bearer {token(AUD, alg='ES384', headers={'jku': url})}", {AUD})
    assert handler.hits == 1
    for _ in range(3):  # unknown kids do not make the service hammer the EHR's JWKS URL
        assert "no key" in refused(v, token(AUD, kid="rotated-away"))
    assert handler.hits == 1


def test_configuration_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"issuers": [{"iss": "x"}], "max_body_bytes": 10, "cors_origin": ["x"]}, "cfg.toml")
    lines = err.value.lines()
    assert any(line.startswith("cfg.toml: issuers.0: give exactly one of jwks_url") for line in lines)
    assert any(line.startswith("cfg.toml: max_body_bytes:") for line in lines)
    assert any(line.startswith("cfg.toml: cors_origin: Extra inputs are not permitted") for line in lines)
    path = tmp_path / "service.toml"
    path.write_text(config_text({"cors_origins": ["https://ehr.example"]}), encoding="utf-8")
    assert load_config(path).cors_origins == ("https://ehr.example",)
    path.write_text("issuers = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(path)
