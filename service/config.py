"""The service's configuration file (TOML), validated with pydantic: trusted issuers, CORS, limits.

Example (every key optional; with no issuer every call is refused with 401):

    base_url = "https://cds.example.org"       # what the EHR calls; JWT `aud` is checked against it
    cors_origins = ["https://ehr.example.org"]
    max_body_bytes = 1000000
    replay_cache = "memory"                    # or "sqlite:/var/lib/cds/jti.sqlite" (several workers)
    fhir_servers = ["https://ehr.example.org/fhir"]   # where a missing prefetch may be fetched
    feedback_store_url = "postgresql+psycopg://cds@db.example.org/cases"   # feedback into the case store
    # or instead: feedback_sink = "package.module:factory", called with [feedback_sink_options]

    [[issuers]]
    iss = "https://ehr.example.org"
    jwks_url = "https://ehr.example.org/.well-known/jwks.json"

    [[issuers]]
    iss = "https://other-ehr.example.org"
    jwks = { keys = [ { kty = "EC", crv = "P-384", kid = "k1", x = "...", y = "..." } ] }
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.errors import Problem, ProblemsError

# The case store's sink, imported only when feedback_store_url is set.
STORE_SINK = "store.feedback_sink:sink"


class ConfigError(ProblemsError):
    """The configuration file is unreadable or breaks its schema; the service does not start."""


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt security setting must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IssuerConfig(Strict):
    """A trusted EHR: its `iss` and where its public keys are (a JWKS URL or inline keys).

    `jku` lists the JWKS URLs the EHR may name in a token's `jku` header (the `jwks_url` is
    always allowed); keys are only ever read from `jwks_url` or `jwks`, never from a token.
    """

    iss: str = Field(min_length=1)
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    jku: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_key_source(self) -> IssuerConfig:
        if (self.jwks_url is None) == (self.jwks is None):
            raise ValueError("give exactly one of jwks_url (a URL) or jwks (inline keys)")
        if self.jwks is not None and not isinstance(self.jwks.get("keys"), list):
            raise ValueError("jwks must be a JWK Set: { keys = [ ... ] }")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError("jwks_url must be an http(s) URL")
        return self

    def allowed_jku(self) -> set[str]:
        """The `jku` header values accepted for this issuer."""
        return set(self.jku) | ({self.jwks_url} if self.jwks_url else set())


class ServiceConfig(Strict):
    """Everything the service reads at start; see the module docstring for the file format."""

    base_url: str | None = None
    issuers: tuple[IssuerConfig, ...] = ()
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=1_000_000, ge=1_000, le=50_000_000)
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    max_token_lifetime_seconds: int = Field(default=300, ge=10, le=3600)
    replay_cache: str = "memory"
    replay_cache_size: int = Field(default=100_000, ge=100, le=10_000_000)
    jwks_cache_seconds: int = Field(default=300, ge=0, le=86_400)
    fhir_servers: tuple[str, ...] = ()
    fhir_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    feedback_sink: str | None = None
    feedback_sink_options: dict[str, Any] = Field(default_factory=dict)
    feedback_store_url: str | None = None
    engines: int = Field(default=2, ge=1, le=64)

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://cds.example.org")
        return value.rstrip("/")

    @field_validator("fhir_servers")
    @classmethod
    def _servers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.rstrip("/") for v in value)

    @field_validator("replay_cache")
    @classmethod
    def _replay(cls, value: str) -> str:
        if value != "memory" and not (value.startswith("sqlite:") and len(value) > len("sqlite:")):
            raise ValueError('must be "memory" or "sqlite:/path/to/file"')
        return value

    @field_validator("feedback_sink")
    @classmethod
    def _sink(cls, value: str | None) -> str | None:
        if value is not None and value.count(":") != 1:
            raise ValueError('must be "package.module:factory"')
        return value

    @model_validator(mode="after")
    def _one_sink(self) -> ServiceConfig:
        if self.feedback_store_url is not None and self.feedback_sink is not None:
            raise ValueError("give feedback_store_url (the case store) or feedback_sink, not both")
        return self

    def sink_spec(self) -> tuple[str, dict[str, Any]] | None:
        """The feedback sink to load ('module:factory' and its options), or None."""
        if self.feedback_store_url is not None:
            return STORE_SINK, {"url": self.feedback_store_url}
        if self.feedback_sink is not None:
            return self.feedback_sink, dict(self.feedback_sink_options)
        return None

    @model_validator(mode="after")
    def _unique_issuers(self) -> ServiceConfig:
        seen = [i.iss for i in self.issuers]
        dupes = sorted({i for i in seen if seen.count(i) > 1})
        if dupes:
            raise ValueError(f"issuer given more than once: {', '.join(dupes)}")
        return self

    def issuer(self, iss: str) -> IssuerConfig | None:
        """The trusted issuer with this `iss`, or None."""
        return next((i for i in self.issuers if i.iss == iss), None)


def parse_config(data: dict[str, Any], name: str = "configuration") -> ServiceConfig:
    """Validate configuration data; raise ConfigError naming each bad field."""
    try:
        return ServiceConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(f"{name}: {loc}" if loc else name, message))
        raise ConfigError(problems) from None


def load_config(path: Path | str | None) -> ServiceConfig:
    """Read the TOML configuration file (None: the defaults, which trust no issuer)."""
    if path is None:
        return ServiceConfig()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([Problem(str(p), f"cannot be read: {exc.strerror or exc}")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(p), f"is not valid TOML: {exc}")]) from None
    return parse_config(data, p.name)
