"""Helpers for the service tests: signing keys, tokens, configuration files, a real uvicorn server,
hook request bodies, and the CDS Hooks JSON Schemas."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).with_name("schemas")
ISSUER = "https://ehr.test.invalid"
RSA_KID = "rsa-1"
EC_KID = "ec-1"


@dataclass(frozen=True)
class Keys:
    """The trusted EHR's signing keys, and a stranger's key under the same kid."""

    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    stranger: rsa.RSAPrivateKey

    def jwks(self) -> dict[str, Any]:
        """The trusted public keys as a JWK Set."""
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        rsa_jwk.update(kid=RSA_KID, alg="RS384", use="sig")
        ec_jwk.update(kid=EC_KID, alg="ES384", use="sig")
        for jwk in (rsa_jwk, ec_jwk):
            jwk.pop("key_ops", None)
        return {"keys": [rsa_jwk, ec_jwk]}


@cache
def keys() -> Keys:
    """Keys made once per test process."""
    return Keys(rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                ec=ec.generate_private_key(ec.SECP384R1()),
                stranger=rsa.generate_private_key(public_exponent=65537, key_size=2048))


def token(aud: str | list[str], *, alg: str = "RS384", key: Any = None, kid: str | None = None,
          iss: str = ISSUER, lifetime: int = 60, issued: int = 0, jti: str | None = None,
          drop: tuple[str, ...] = (), headers: Mapping[str, Any] | None = None,
          claims: Mapping[str, Any] | None = None) -> str:
    """A CDS Hooks client JWT (RS384 with the trusted key by default)."""
    now = int(time.time()) + issued
    payload: dict[str, Any] = {"iss": iss, "aud": aud, "exp": now + lifetime, "iat": now,
                               "jti": jti or str(uuid.uuid4()), "tenant": "tenant-1"}
    payload.update(claims or {})
    for name in drop:
        payload.pop(name, None)
    if key is None:
        key = keys().ec if alg == "ES384" else keys().rsa
    header = {"kid": kid or (EC_KID if alg == "ES384" else RSA_KID), "typ": "JWT", **(headers or {})}
    return jwt.encode(payload, key, algorithm=alg, headers=header)


def unsigned(payload: Mapping[str, Any]) -> str:
    """An unsigned token (alg none)."""
    return jwt.encode(dict(payload), None, algorithm="none", headers={"kid": RSA_KID})


def hs256_token(payload: Mapping[str, Any], secret: bytes) -> str:
    """An HS256 token built by hand (PyJWT refuses a PEM key as an HMAC secret): the classic
    confusion attack signs with the RSA public key as the shared secret."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": RSA_KID}).encode())
    body = b64(json.dumps(dict(payload)).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def public_pem() -> bytes:
    """The trusted RSA public key in PEM."""
    return keys().rsa.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def toml_value(value: Any) -> str:
    """A value written as TOML (JSON's syntax for strings, numbers and arrays; inline tables)."""
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def config_text(settings: Mapping[str, Any], jwks: Mapping[str, Any] | None = None,
                jwks_url: str | None = None) -> str:
    """A configuration file trusting ISSUER (inline keys by default), with these settings."""
    lines = [f"{k} = {toml_value(v)}" for k, v in settings.items() if not isinstance(v, Mapping)]
    for k, v in settings.items():
        if isinstance(v, Mapping):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {toml_value(vv)}" for kk, vv in v.items()]
    lines.append("[[issuers]]")
    lines.append(f"iss = {json.dumps(ISSUER)}")
    if jwks_url:
        lines.append(f"jwks_url = {json.dumps(jwks_url)}")
    else:
        lines.append(f"jwks = {toml_value(jwks or keys().jwks())}")
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `python -m service` process on a loopback port, with its output captured in a file."""

    base: str
    log_path: Path
    process: subprocess.Popen[bytes]
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def url(self, path: str) -> str:
        """An absolute URL on this server."""
        return self.base + path

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the process and wait for it."""
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_server(directory: Path, config: str, *args: str, timeout: float = 60.0) -> Server:
    """Start the service as a real uvicorn process and wait until it answers /healthz."""
    port = free_port()
    config_path = directory / "service.toml"
    config_path.write_text(config, encoding="utf-8")
    log_path = directory / f"server-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "--port", str(port), "--config", str(config_path),
             "--log-level", "debug", *args],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(base=f"http://127.0.0.1:{port}", log_path=log_path, process=process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode}:\n{server.log()}")
        try:
            if server.client.get(server.url("/healthz"), timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the service did not start in {timeout} s:\n{server.log()}")


def hook_body(prefetch: Any = None, *, patient: str = "patient-1", omit_prefetch: bool = False,
              **extra: Any) -> dict[str, Any]:
    """A patient-view request; `prefetch` is the questionnaireResponse prefetch value."""
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                            "context": {"userId": "Practitioner/practitioner-1", "patientId": patient}}
    if not omit_prefetch:
        body["prefetch"] = {"questionnaireResponse": prefetch}
    body.update(extra)
    return body


def searchset(*resources: Mapping[str, Any]) -> dict[str, Any]:
    """A searchset Bundle of resources."""
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": dict(r)} for r in resources]}


@cache
def schema(name: str) -> dict[str, Any]:
    """One of the CDS Hooks JSON Schemas in tests/service/schemas/."""
    return dict(json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")))


def check_schema(instance: Any, name: str) -> None:
    """Validate against a CDS Hooks JSON Schema (raises jsonschema.ValidationError)."""
    validator = jsonschema.Draft202012Validator(
        schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(instance)


def check_outcome(body: Any) -> None:
    """The body is a FHIR R4B OperationOutcome with at least one issue, and no traceback."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    OperationOutcome.model_validate(body)
    check_schema(body, "operation-outcome")
    text = json.dumps(body)
    assert "Traceback" not in text and 'File "' not in text
