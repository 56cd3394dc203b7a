"""The EHR's bearer JWT, checked as CDS Hooks 2.0 requires ("Trusting CDS Clients").

A token is accepted only when: it is signed with RS384 or ES384 (`none` and shared-secret
HS* algorithms are refused outright), its `iss` is on the configuration's allowlist, its `kid`
names a key of that issuer (read from the issuer's configured JWKS URL or inline keys, never
from a URL the token names; a `jku` header must itself be allowlisted), the signature
verifies, `aud` is the endpoint being called, `exp` has not passed, `iat` is not in the future,
it expires within the configured lifetime, and its `jti` was never accepted before.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWKError,
    PyJWTError,
)

from service.config import IssuerConfig, ServiceConfig
from service.replay import MemoryReplayCache, ReplayCache, ReplayCacheFull

ALGORITHMS = ("RS384", "ES384")  # recommended by the spec; asymmetric only
_KEY_TYPES = {"RS384": ("RSA", None), "ES384": ("EC", "P-384")}
_REQUIRED = ["iss", "aud", "exp", "iat", "jti"]
JWKS_MAX_BYTES = 200_000
JWKS_MIN_REFRESH_SECONDS = 30.0  # an unknown kid refreshes a JWKS URL at most this often


class AuthError(Exception):
    """A request is not authenticated. `code` is the OperationOutcome issue code."""

    def __init__(self, message: str, code: str = "security", status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Caller:
    """Who called: the verified issuer, the token's id, and the optional tenant and subject."""

    iss: str
    jti: str
    tenant: str | None = None
    sub: str | None = None


class KeySet:
    """One issuer's public keys by kid: inline, or fetched from its JWKS URL and cached."""

    def __init__(self, issuer: IssuerConfig, cache_seconds: float, timeout: float = 5.0) -> None:
        self._issuer = issuer
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = float("-inf")
        self._pyjwk: dict[tuple[str, str], Any] = {}
        if issuer.jwks is not None:
            self._keys = self._index(issuer.jwks)

    @staticmethod
    def _index(jwks: dict[str, Any]) -> dict[str, dict[str, Any]]:
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise AuthError("the issuer's JWK Set has no 'keys' list", status=503, code="exception")
        return {str(k["kid"]): k for k in keys
                if isinstance(k, dict) and "kid" in k and k.get("use", "sig") == "sig"}

    def _fetch(self) -> None:
        url = self._issuer.jwks_url
        if url is None:  # inline keys are never fetched
            return
        try:
            # trust_env=False: no proxy from the environment; the request goes only to the configured URL.
            with httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as client:
                response = client.get(url, headers={"Accept": "application/json"})
            if response.status_code != 200 or len(response.content) > JWKS_MAX_BYTES:
                raise AuthError(f"the issuer's JWKS URL answered HTTP {response.status_code}",
                                status=503, code="transient")
            self._keys = self._index(json.loads(response.content))
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthError(f"the issuer's JWKS could not be read ({type(exc).__name__})",
                            status=503, code="transient") from None
        self._fetched_at = time.monotonic()
        self._pyjwk.clear()

    def key(self, kid: str, alg: str) -> Any:
        """The public key for `kid`, checked to fit `alg`; raise AuthError."""
        with self._lock:
            if self._issuer.jwks_url is not None:
                age = time.monotonic() - self._fetched_at
                stale = age > self._cache_seconds
                missing = kid not in self._keys and age > JWKS_MIN_REFRESH_SECONDS
                if stale or missing:
                    self._fetch()
            jwk = self._keys.get(kid)
            if jwk is None:
                raise AuthError(f"no key '{_short(kid)}' in the issuer's JWK Set")
            if jwk.get("alg") not in (None, alg):
                raise AuthError(f"key '{_short(kid)}' is for {jwk.get('alg')}, not {alg}")
            kty, crv = _KEY_TYPES[alg]
            if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
                raise AuthError(f"key '{_short(kid)}' does not fit {alg}")
            cached = self._pyjwk.get((kid, alg))
            if cached is None:
                try:
                    cached = jwt.PyJWK(jwk, algorithm=alg).key
                except (PyJWKError, ValueError, TypeError) as exc:
                    raise AuthError(f"key '{_short(kid)}' cannot be used ({type(exc).__name__})") from None
                self._pyjwk[(kid, alg)] = cached
            return cached


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TokenVerifier:
    """Checks bearer tokens against the configured issuers and a replay cache."""

    def __init__(self, config: ServiceConfig, replay: ReplayCache) -> None:
        self._config = config
        self._replay = replay
        self._keys = {i.iss: KeySet(i, config.jwks_cache_seconds) for i in config.issuers}
        # Whether a check may wait on I/O (a JWKS URL to fetch, a replay cache on disk); if not,
        # it takes about 0.1 ms of CPU and can run on the event loop.
        self.may_block = any(i.jwks_url for i in config.issuers) or not isinstance(replay, MemoryReplayCache)

    def verify(self, authorization: str | None, audiences: set[str]) -> Caller:
        """Verify an Authorization header for an endpoint whose URL is one of `audiences`."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("a bearer token is required (Authorization: Bearer <JWT>)", code="login")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except PyJWTError:
            raise AuthError("the bearer token is not a well-formed JWT") from None
        alg = str(header.get("alg", ""))
        if alg.lower() == "none":
            raise AuthError("unsigned tokens (alg none) are refused")
        if alg.upper().startswith("HS"):
            raise AuthError(f"shared-secret algorithms ({_short(alg)}) are refused; use RS384 or ES384")
        if alg not in ALGORITHMS:
            raise AuthError(f"algorithm {_short(alg)} is not accepted; use RS384 or ES384")
        if "typ" in header and str(header["typ"]).upper() != "JWT":
            raise AuthError("the token's typ must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token names no key (kid)")
        iss = unverified.get("iss")
        issuer = self._config.issuer(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("the token's issuer (iss) is not on this service's allowlist")
        if "jku" in header and header["jku"] not in issuer.allowed_jku():
            raise AuthError("the token's jku is not on the allowlist for its issuer")
        key = self._keys[issuer.iss].key(kid, alg)
        leeway = self._config.leeway_seconds
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=sorted(audiences), issuer=issuer.iss,
                leeway=leeway, options={"require": _REQUIRED, "verify_iat": True})
        except ExpiredSignatureError:
            raise AuthError("the token has expired", code="expired") from None
        except InvalidAudienceError:
            expected = ", ".join(sorted(audiences))
            raise AuthError(f"the token's audience (aud) is not this endpoint ({expected})") from None
        except ImmatureSignatureError:
            raise AuthError("the token is issued in the future (iat)") from None
        except InvalidSignatureError:
            raise AuthError("the token's signature does not verify") from None
        except MissingRequiredClaimError as exc:
            raise AuthError(f"the token lacks the required claim {exc.claim}") from None
        except InvalidIssuedAtError:
            raise AuthError("the token's iat must be a number") from None
        except PyJWTError as exc:
            raise AuthError(f"the token is refused ({type(exc).__name__})") from None
        exp = float(claims["exp"])
        limit = self._config.max_token_lifetime_seconds
        if exp - time.time() > limit + leeway:
            raise AuthError(f"the token expires too far ahead; at most {limit} s after it is sent")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise AuthError("the token's jti must be a non-empty string of at most 256 characters")
        try:
            fresh = self._replay.first_use(issuer.iss, jti, exp + leeway)
        except ReplayCacheFull:
            raise AuthError("too many tokens in flight; try again shortly", code="throttled",
                            status=503) from None
        if not fresh:
            raise AuthError("the token was already used (replayed jti)")
        tenant, sub = claims.get("tenant"), claims.get("sub")
        return Caller(iss=issuer.iss, jti=jti, tenant=str(tenant) if tenant is not None else None,
                      sub=str(sub) if sub is not None else None)
