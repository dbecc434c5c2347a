"""Every Strongroom setting, read from ``STRONGROOM_*`` environment variables.

This module is the one place settings are documented; the README's table is
generated from ``SETTINGS`` by ``strongroom settings``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, TypeVar

PREFIX = "STRONGROOM_"
N = TypeVar("N", int, float)


@dataclass(frozen=True)
class SettingDoc:
    name: str
    default: str
    meaning: str


SETTINGS: tuple[SettingDoc, ...] = (
    SettingDoc("DATA_DIR", "./.strongroom", "Folder for the embedded SQLite database and the generated root key."),
    SettingDoc(
        "DATABASE_URL",
        "sqlite:///<DATA_DIR>/strongroom.db",
        "Database to use. A plain `postgresql://user@host:port/db` URL selects PostgreSQL (psycopg 3).",
    ),
    SettingDoc(
        "DATABASE_POOL_SIZE",
        "10",
        "PostgreSQL connections each process keeps open; under load it opens up to twice as many more, "
        "and it keeps three more: two read the change counters, one writes the token records of logins. "
        "Replicas × workers × (3 × this + 3) must stay below the server's `max_connections`.",
    ),
    SettingDoc("HOST", "127.0.0.1", "Address `strongroom server` listens on."),
    SettingDoc("PORT", "8080", "Port `strongroom server` listens on."),
    SettingDoc(
        "ROOT_KEY",
        "(generated into <DATA_DIR>/root.key)",
        "Base64 of 32 random bytes. Every key Strongroom uses (access-token signing, secret sealing) is derived "
        "from it, so all replicas must share it and it must be backed up.",
    ),
    SettingDoc("JWT_LEEWAY_SECONDS", "5", "Clock skew tolerated on a presented JWT's `exp`, `nbf` and `iat`."),
    SettingDoc("JWKS_CACHE_TTL_SECONDS", "300", "How long a fetched key set is used before it is refreshed."),
    SettingDoc(
        "JWKS_REFRESH_COOLDOWN_SECONDS",
        "10",
        "Least time between two fetches of one key source caused by unknown `kid`s, so bad tokens cannot "
        "hammer the issuer.",
    ),
    SettingDoc(
        "JWKS_MAX_STALENESS_SECONDS",
        "3600",
        "How long the last good key set keeps serving logins while its source cannot be fetched.",
    ),
    SettingDoc("HTTP_FETCH_TIMEOUT_SECONDS", "5", "Time limit for one fetch of a discovery document or key set."),
    SettingDoc("HTTP_FETCH_MAX_BYTES", "1048576", "Largest discovery document or key set accepted."),
    SettingDoc(
        "ALLOW_INTERNAL_ISSUERS",
        "false",
        "Allow discovery, JWKS and bundle URLs that resolve to loopback, link-local (cloud metadata) or private "
        "addresses. Needed when the SPIRE discovery provider runs inside your network.",
    ),
    SettingDoc(
        "CHECK_DISCOVERY_ISSUER",
        "true",
        "Require the discovery document's `issuer` to equal the method's `boundIssuer` (or, when that is empty, "
        "the discovery base URL), a trailing slash aside.",
    ),
    SettingDoc(
        "TRUSTED_PROXIES",
        "(none)",
        "Comma-separated addresses/CIDRs of reverse proxies whose forwarded-for headers are believed. "
        "From any other peer those headers are ignored.",
    ),
    SettingDoc(
        "FORWARDED_HEADERS",
        "(Infisical's list)",
        "Comma-separated headers read, in order, for the client address when the peer is a trusted proxy. "
        "Set it to the one header your proxy overwrites or appends to (say `x-forwarded-for`): a header the proxy "
        "passes through untouched is written by the client.",
    ),
    SettingDoc(
        "REDIS_URL",
        "(none)",
        "Redis shared by the replicas (`redis://host:6379/0`), for the failed-login counters. Optional: without it "
        "each process counts on its own; tokens, use limits and revocation are always decided by the database.",
    ),
    SettingDoc(
        "TOKEN_CLEANUP_INTERVAL_SECONDS",
        "60",
        "How often each process deletes access-token records that have expired or were revoked (0: never).",
    ),
    SettingDoc(
        "TOKEN_RETENTION_SECONDS",
        "3600",
        "How long an expired or revoked access-token record is kept before the cleanup deletes it.",
    ),
    SettingDoc(
        "LOGIN_FAILURE_WINDOW_SECONDS",
        "60",
        "Window of the failed-login limits; it starts at a key's first failure.",
    ),
    SettingDoc(
        "LOGIN_MAX_FAILURES_PER_IDENTITY",
        "10",
        "Failed logins of one identity per window after which further failures are answered 429 (0: no limit).",
    ),
    SettingDoc(
        "LOGIN_MAX_FAILURES_PER_IP",
        "50",
        "Failed logins from one client address per window after which further failures are answered 429 "
        "(0: no limit).",
    ),
    SettingDoc(
        "READ_CACHE_MB",
        "16",
        "Memory each process may use to keep rendered secret reads for reuse until a secret, folder, import, "
        "environment or project changes (0: off). Every request is still authenticated and authorised.",
    ),
    SettingDoc(
        "OPENTELEMETRY",
        "false",
        "FastAPI's own OpenTelemetry spans, metrics and logs of every request, through the globally "
        "configured providers (e.g. under `opentelemetry-instrument`). Off: FastAPI looks the providers up "
        "on every request even when none is configured.",
    ),
    SettingDoc("LOG_LEVEL", "info", "Log level of the server."),
)


def _read(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(PREFIX + name, "").strip()
    return value if value else default


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _read(env, name, "true" if default else "false").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{PREFIX}{name} must be true or false, not {value!r}")


def _non_negative(env: Mapping[str, str], name: str, default: str, kind: Callable[[str], N]) -> N:
    value = kind(_read(env, name, default))
    if value < 0:  # type: ignore[operator]
        raise ValueError(f"{PREFIX}{name} must not be negative, not {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    database_pool_size: int = 10
    host: str = "127.0.0.1"
    port: int = 8080
    root_key_b64: str | None = None
    jwt_leeway_seconds: int = 5
    jwks_cache_ttl_seconds: float = 300.0
    jwks_refresh_cooldown_seconds: float = 10.0
    jwks_max_staleness_seconds: float = 3600.0
    http_fetch_timeout_seconds: float = 5.0
    http_fetch_max_bytes: int = 1024 * 1024
    allow_internal_issuers: bool = False
    check_discovery_issuer: bool = True
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default_factory=tuple)
    forwarded_headers: tuple[str, ...] | None = None  # None: Infisical's list (strongroom.web.client_ip)
    redis_url: str | None = None
    token_cleanup_interval_seconds: float = 60.0
    token_retention_seconds: float = 3600.0
    login_failure_window_seconds: int = 60
    login_max_failures_per_identity: int = 10
    login_max_failures_per_ip: int = 50
    read_cache_mb: float = 16.0
    opentelemetry: bool = False
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        data_dir = Path(_read(env, "DATA_DIR", "./.strongroom")).expanduser()
        database_url = _read(env, "DATABASE_URL", "") or f"sqlite:///{data_dir.resolve() / 'strongroom.db'}"
        proxies = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in _read(env, "TRUSTED_PROXIES", "").split(",")
            if part.strip()
        )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            database_pool_size=max(1, _non_negative(env, "DATABASE_POOL_SIZE", "10", int)),
            host=_read(env, "HOST", "127.0.0.1"),
            port=int(_read(env, "PORT", "8080")),
            root_key_b64=_read(env, "ROOT_KEY", "") or None,
            jwt_leeway_seconds=int(_read(env, "JWT_LEEWAY_SECONDS", "5")),
            jwks_cache_ttl_seconds=float(_read(env, "JWKS_CACHE_TTL_SECONDS", "300")),
            jwks_refresh_cooldown_seconds=float(_read(env, "JWKS_REFRESH_COOLDOWN_SECONDS", "10")),
            jwks_max_staleness_seconds=float(_read(env, "JWKS_MAX_STALENESS_SECONDS", "3600")),
            http_fetch_timeout_seconds=float(_read(env, "HTTP_FETCH_TIMEOUT_SECONDS", "5")),
            http_fetch_max_bytes=int(_read(env, "HTTP_FETCH_MAX_BYTES", str(1024 * 1024))),
            allow_internal_issuers=_flag(env, "ALLOW_INTERNAL_ISSUERS", False),
            check_discovery_issuer=_flag(env, "CHECK_DISCOVERY_ISSUER", True),
            trusted_proxies=proxies,
            forwarded_headers=tuple(
                part.strip().lower() for part in _read(env, "FORWARDED_HEADERS", "").split(",") if part.strip()
            ) or None,
            redis_url=_read(env, "REDIS_URL", "") or None,
            token_cleanup_interval_seconds=_non_negative(env, "TOKEN_CLEANUP_INTERVAL_SECONDS", "60", float),
            token_retention_seconds=_non_negative(env, "TOKEN_RETENTION_SECONDS", "3600", float),
            login_failure_window_seconds=max(1, _non_negative(env, "LOGIN_FAILURE_WINDOW_SECONDS", "60", int)),
            login_max_failures_per_identity=_non_negative(env, "LOGIN_MAX_FAILURES_PER_IDENTITY", "10", int),
            login_max_failures_per_ip=_non_negative(env, "LOGIN_MAX_FAILURES_PER_IP", "50", int),
            read_cache_mb=_non_negative(env, "READ_CACHE_MB", "16", float),
            opentelemetry=_flag(env, "OPENTELEMETRY", False),
            log_level=_read(env, "LOG_LEVEL", "info").lower(),
        )


def settings_table_markdown() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{PREFIX}{s.name}` | `{s.default}` | {s.meaning} |" for s in SETTINGS]
    return "\n".join(rows)
