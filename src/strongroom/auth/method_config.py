"""What every auth method's configuration shares: the access-token policy fields and the checks on input.

Field names, defaults and bounds are Infisical's, so the same request bodies work.
Nonsense is refused here with a 400 naming the field, before anything is stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field
from wcmatch import glob as wcglob

from strongroom.auth.verify.globs import compile_pattern, normalise_pattern_list, split_patterns
from strongroom.auth.trusted_ips import DEFAULT_TRUSTED_IPS, parse_trusted_ips
from strongroom.errors import BadRequest
from strongroom.store.models import AccessTokenPolicy

MAX_TTL_SECONDS = 315360000  # ten years, Infisical's bound


class TrustedIp(BaseModel):
    ipAddress: str


class TokenPolicyFields(BaseModel):
    """The access-token fields of an attach request, with Infisical's defaults."""

    model_config = ConfigDict(extra="ignore")

    accessTokenTTL: int = Field(default=2592000, ge=0, le=MAX_TTL_SECONDS)
    accessTokenMaxTTL: int = Field(default=2592000, ge=0, le=MAX_TTL_SECONDS)
    accessTokenNumUsesLimit: int = Field(default=0, ge=0)
    accessTokenTrustedIps: list[TrustedIp] = Field(
        default_factory=lambda: [TrustedIp(ipAddress=cidr) for cidr in DEFAULT_TRUSTED_IPS], min_length=1
    )


class TokenPolicyUpdate(BaseModel):
    """The same fields in an update request: absent means unchanged."""

    model_config = ConfigDict(extra="ignore")

    accessTokenTTL: int | None = Field(default=None, ge=0, le=MAX_TTL_SECONDS)
    accessTokenMaxTTL: int | None = Field(default=None, ge=0, le=MAX_TTL_SECONDS)
    accessTokenNumUsesLimit: int | None = Field(default=None, ge=0)
    accessTokenTrustedIps: list[TrustedIp] | None = Field(default=None, min_length=1)


def check_ttls(ttl: int, max_ttl: int) -> None:
    if max_ttl > 0 and ttl > max_ttl:
        raise BadRequest("Access token TTL cannot be greater than max TTL")


def policy_columns(fields: TokenPolicyFields) -> dict[str, Any]:
    check_ttls(fields.accessTokenTTL, fields.accessTokenMaxTTL)
    return {
        "access_token_ttl": fields.accessTokenTTL,
        "access_token_max_ttl": fields.accessTokenMaxTTL,
        "access_token_num_uses_limit": fields.accessTokenNumUsesLimit,
        "access_token_trusted_ips": parse_trusted_ips(ip.ipAddress for ip in fields.accessTokenTrustedIps),
    }


def apply_policy_update(config: AccessTokenPolicy, fields: TokenPolicyUpdate) -> None:
    ttl = fields.accessTokenTTL if fields.accessTokenTTL is not None else config.access_token_ttl
    max_ttl = fields.accessTokenMaxTTL if fields.accessTokenMaxTTL is not None else config.access_token_max_ttl
    check_ttls(ttl, max_ttl)
    config.access_token_ttl = ttl
    config.access_token_max_ttl = max_ttl
    if fields.accessTokenNumUsesLimit is not None:
        config.access_token_num_uses_limit = fields.accessTokenNumUsesLimit
    if fields.accessTokenTrustedIps is not None:
        config.access_token_trusted_ips = parse_trusted_ips(ip.ipAddress for ip in fields.accessTokenTrustedIps)


def policy_response(config: AccessTokenPolicy) -> dict[str, Any]:
    return {
        "accessTokenTTL": config.access_token_ttl,
        "accessTokenMaxTTL": config.access_token_max_ttl,
        "accessTokenNumUsesLimit": config.access_token_num_uses_limit,
        "accessTokenTrustedIps": config.access_token_trusted_ips,
    }


def check_http_url(url: str, field: str, *, https_only: bool = False) -> str:
    url = url.strip()
    parts = urlsplit(url)
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.hostname:
        raise BadRequest(f"{field} must be an {' or '.join(schemes)} URL, got {url!r}")
    if parts.username or parts.password:
        raise BadRequest("URLs with user credentials (e.g., user:pass@) are not allowed")
    if parts.fragment:
        raise BadRequest(f"{field} must not carry a fragment")
    return url


def check_ca_cert(pem: str, field: str = "caCert") -> str:
    pem = pem.strip()
    if not pem:
        return ""
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise BadRequest(f"{field} is not a PEM-encoded X.509 certificate") from None
    if not certificates:
        raise BadRequest(f"{field} is not a PEM-encoded X.509 certificate")
    return pem


def check_pattern(pattern: str, field: str) -> str:
    if pattern:
        try:
            compile_pattern(pattern)
        except (ValueError, wcglob.PatternLimitException) as exc:
            raise BadRequest(f"{field}: {pattern!r} is not a valid pattern ({exc})") from None
    return pattern


def check_pattern_list(text: str, field: str) -> str:
    """``"a, b,c"`` → ``"a, b, c"``; a list that is given but holds only empty entries is refused."""
    normal = normalise_pattern_list(text)
    if text.strip() and not normal:
        raise BadRequest(f"{field} holds only empty patterns")
    for pattern in split_patterns(normal):
        check_pattern(pattern, field)
    return normal


def check_claim_map(claims: dict[str, str], field: str) -> dict[str, str]:
    normal: dict[str, str] = {}
    for key, value in claims.items():
        if not key.strip():
            raise BadRequest(f"{field} has an empty claim name")
        joined = normalise_pattern_list(value)
        if not joined:
            raise BadRequest(f"{field}.{key} is empty; an empty pattern would admit nothing")
        for pattern in split_patterns(joined):
            check_pattern(pattern, f"{field}.{key}")
        normal[key.strip()] = joined
    return normal
