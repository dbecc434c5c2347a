"""OIDC Auth on an identity: attach, read, update and revoke its configuration.

Field names, defaults and normal forms follow Infisical's
``/api/v1/auth/oidc-auth/identities/{identityId}`` so Terraform and scripts
written for Infisical work unchanged. Nonsense is refused here, before
anything is stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from wcmatch import glob as wcglob

from strongroom.auth.oidc.globs import compile_pattern, normalise_pattern_list, split_patterns
from strongroom.auth.tokens import AccessTokens
from strongroom.auth.trusted_ips import DEFAULT_TRUSTED_IPS, parse_trusted_ips
from strongroom.clock import iso
from strongroom.errors import BadRequest
from strongroom.store.models import Identity, IdentityOidcAuth

AUTH_METHOD = "oidc-auth"
MAX_TTL_SECONDS = 315360000  # ten years, Infisical's bound


class TrustedIp(BaseModel):
    ipAddress: str


class TokenPolicyFields(BaseModel):
    """The access-token fields every auth method shares."""

    model_config = ConfigDict(extra="ignore")

    accessTokenTTL: int = Field(default=2592000, ge=0, le=MAX_TTL_SECONDS)
    accessTokenMaxTTL: int = Field(default=2592000, ge=0, le=MAX_TTL_SECONDS)
    accessTokenNumUsesLimit: int = Field(default=0, ge=0)
    accessTokenTrustedIps: list[TrustedIp] = Field(
        default_factory=lambda: [TrustedIp(ipAddress=cidr) for cidr in DEFAULT_TRUSTED_IPS], min_length=1
    )


class OidcAuthAttach(TokenPolicyFields):
    oidcDiscoveryUrl: str = Field(min_length=1)
    caCert: str = ""
    # Infisical requires boundIssuer; SPIRE issues no `iss` unless jwt_issuer is
    # set, so here an empty issuer means "not checked" (keys still come only from the configured URL).
    boundIssuer: str = ""
    boundAudiences: str = ""
    boundClaims: dict[str, str] = Field(default_factory=dict)
    claimMetadataMapping: dict[str, str] | None = None
    boundSubject: str = ""


class OidcAuthUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    oidcDiscoveryUrl: str | None = Field(default=None, min_length=1)
    caCert: str | None = None
    boundIssuer: str | None = None
    boundAudiences: str | None = None
    boundClaims: dict[str, str] | None = None
    claimMetadataMapping: dict[str, str] | None = None
    boundSubject: str | None = None
    accessTokenTTL: int | None = Field(default=None, ge=0, le=MAX_TTL_SECONDS)
    accessTokenMaxTTL: int | None = Field(default=None, ge=0, le=MAX_TTL_SECONDS)
    accessTokenNumUsesLimit: int | None = Field(default=None, ge=0)
    accessTokenTrustedIps: list[TrustedIp] | None = Field(default=None, min_length=1)


# -- validation and normal forms ----------------------------------------------


def check_discovery_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"oidcDiscoveryUrl must be an http(s) URL, got {url!r}")
    if parts.username or parts.password:
        raise BadRequest("URLs with user credentials (e.g., user:pass@) are not allowed")
    if parts.query or parts.fragment:
        raise BadRequest("oidcDiscoveryUrl must not carry a query or fragment")
    return url


def check_ca_cert(pem: str) -> str:
    pem = pem.strip()
    if not pem:
        return ""
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise BadRequest("caCert is not a PEM-encoded X.509 certificate") from None
    if not certificates:
        raise BadRequest("caCert is not a PEM-encoded X.509 certificate")
    return pem


def _check_pattern(pattern: str, field: str) -> None:
    try:
        compile_pattern(pattern)
    except (ValueError, wcglob.PatternLimitException) as exc:
        raise BadRequest(f"{field}: {pattern!r} is not a valid pattern ({exc})") from None


def check_pattern_list(text: str, field: str) -> str:
    """``"a, b,c"`` → ``"a, b, c"``; a list that is given but holds only empty entries is refused."""
    normal = normalise_pattern_list(text)
    if text.strip() and not normal:
        raise BadRequest(f"{field} holds only empty patterns")
    for pattern in split_patterns(normal):
        _check_pattern(pattern, field)
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
            _check_pattern(pattern, f"{field}.{key}")
        normal[key.strip()] = joined
    return normal


def check_ttls(ttl: int, max_ttl: int) -> None:
    if max_ttl > 0 and ttl > max_ttl:
        raise BadRequest("Access token TTL cannot be greater than max TTL")


# -- the service --------------------------------------------------------------


def describe(config: IdentityOidcAuth, *, with_ca_cert: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": config.id,
        "accessTokenTTL": config.access_token_ttl,
        "accessTokenMaxTTL": config.access_token_max_ttl,
        "accessTokenNumUsesLimit": config.access_token_num_uses_limit,
        "accessTokenTrustedIps": config.access_token_trusted_ips,
        "identityId": config.identity_id,
        "oidcDiscoveryUrl": config.oidc_discovery_url,
        "boundIssuer": config.bound_issuer,
        "boundAudiences": config.bound_audiences,
        "boundClaims": config.bound_claims,
        "claimMetadataMapping": config.claim_metadata_mapping,
        "boundSubject": config.bound_subject,
        "createdAt": iso(config.created_at),
        "updatedAt": iso(config.updated_at),
    }
    if with_ca_cert:
        body["caCert"] = config.ca_cert
    return body


def attach(session: Session, identity: Identity, fields: OidcAuthAttach) -> IdentityOidcAuth:
    if identity.oidc_auth is not None:
        raise BadRequest("Failed to add OIDC Auth to already configured identity")
    check_ttls(fields.accessTokenTTL, fields.accessTokenMaxTTL)
    config = IdentityOidcAuth(
        identity_id=identity.id,
        oidc_discovery_url=check_discovery_url(fields.oidcDiscoveryUrl),
        ca_cert=check_ca_cert(fields.caCert),
        bound_issuer=fields.boundIssuer,
        bound_audiences=check_pattern_list(fields.boundAudiences, "boundAudiences"),
        bound_claims=check_claim_map(fields.boundClaims, "boundClaims"),
        claim_metadata_mapping=(
            check_claim_map(fields.claimMetadataMapping, "claimMetadataMapping")
            if fields.claimMetadataMapping is not None else None
        ),
        bound_subject=fields.boundSubject,
        access_token_ttl=fields.accessTokenTTL,
        access_token_max_ttl=fields.accessTokenMaxTTL,
        access_token_num_uses_limit=fields.accessTokenNumUsesLimit,
        access_token_trusted_ips=parse_trusted_ips(ip.ipAddress for ip in fields.accessTokenTrustedIps),
    )
    if config.bound_subject:
        _check_pattern(config.bound_subject, "boundSubject")
    session.add(config)
    session.flush()
    return config


def require(identity: Identity, *, missing_message: str) -> IdentityOidcAuth:
    if identity.oidc_auth is None:
        raise BadRequest(missing_message)
    return identity.oidc_auth


def update(session: Session, identity: Identity, fields: OidcAuthUpdate) -> IdentityOidcAuth:
    config = require(identity, missing_message="Failed to update OIDC Auth")
    ttl = fields.accessTokenTTL if fields.accessTokenTTL is not None else config.access_token_ttl
    max_ttl = fields.accessTokenMaxTTL if fields.accessTokenMaxTTL is not None else config.access_token_max_ttl
    check_ttls(ttl, max_ttl)
    if fields.oidcDiscoveryUrl is not None:
        config.oidc_discovery_url = check_discovery_url(fields.oidcDiscoveryUrl)
    if fields.caCert is not None:
        config.ca_cert = check_ca_cert(fields.caCert)
    if fields.boundIssuer is not None:
        config.bound_issuer = fields.boundIssuer
    if fields.boundAudiences is not None:
        config.bound_audiences = check_pattern_list(fields.boundAudiences, "boundAudiences")
    if fields.boundClaims is not None:
        config.bound_claims = check_claim_map(fields.boundClaims, "boundClaims")
    if fields.claimMetadataMapping is not None:
        config.claim_metadata_mapping = check_claim_map(fields.claimMetadataMapping, "claimMetadataMapping")
    if fields.boundSubject is not None:
        if fields.boundSubject:
            _check_pattern(fields.boundSubject, "boundSubject")
        config.bound_subject = fields.boundSubject
    if fields.accessTokenTrustedIps is not None:
        config.access_token_trusted_ips = parse_trusted_ips(ip.ipAddress for ip in fields.accessTokenTrustedIps)
    config.access_token_ttl = ttl
    config.access_token_max_ttl = max_ttl
    if fields.accessTokenNumUsesLimit is not None:
        config.access_token_num_uses_limit = fields.accessTokenNumUsesLimit
    session.flush()
    return config


def revoke(session: Session, identity: Identity) -> dict[str, Any]:
    config = require(identity, missing_message="The identity does not have OIDC auth")
    described = describe(config, with_ca_cert=False)
    AccessTokens.revoke_all_for_method(session, identity.id, AUTH_METHOD)
    identity.oidc_auth = None
    session.flush()
    return described
