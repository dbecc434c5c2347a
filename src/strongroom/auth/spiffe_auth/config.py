"""SPIFFE Auth on an identity: attach, read, update and revoke (Infisical's ``/api/v1/auth/spiffe-auth``).

Trust comes from the SPIFFE bundle of one trust domain, written into the
configuration (``profile: "static"``) or fetched from a bundle endpoint
(``profile: "https_web_bundle"``), not from an OIDC discovery document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from strongroom.auth.keys.jwk import parse_json
from strongroom.auth.keys.sources import (
    KeySource, SpiffeBundleSource, StaticKeySource, configured_source, parse_spiffe_bundle,
)
from strongroom.auth.method_config import (
    TokenPolicyFields,
    TokenPolicyUpdate,
    apply_policy_update,
    check_ca_cert,
    check_http_url,
    check_pattern_list,
    policy_columns,
    policy_response,
)
from strongroom.auth.tokens import AccessTokens
from strongroom.clock import iso
from strongroom.errors import BadRequest
from strongroom.outbound import FetchError
from strongroom.spiffe.ids import InvalidSpiffeId, check_trust_domain
from strongroom.store.models import Identity, IdentitySpiffeAuth

AUTH_METHOD = "spiffe-auth"


class StaticBundle(BaseModel):
    profile: Literal["static"]
    bundle: str = Field(min_length=1)


class HttpsWebBundle(BaseModel):
    profile: Literal["https_web_bundle"]
    endpointUrl: str = Field(min_length=1)
    caCert: str = ""
    refreshHintSeconds: int = Field(default=3600, ge=0)


TrustBundleDistribution = Annotated[StaticBundle | HttpsWebBundle, Field(discriminator="profile")]


class SpiffeAuthAttach(TokenPolicyFields):
    trustDomain: str = Field(min_length=1)
    allowedSpiffeIds: str = Field(min_length=1)
    # Required: a JWT-SVID names its audience, and a validator must know which one is its own.
    allowedAudiences: str = Field(min_length=1)
    trustBundleDistribution: TrustBundleDistribution


class SpiffeAuthUpdate(TokenPolicyUpdate):
    model_config = ConfigDict(extra="ignore")

    trustDomain: str | None = Field(default=None, min_length=1)
    allowedSpiffeIds: str | None = Field(default=None, min_length=1)
    allowedAudiences: str | None = Field(default=None, min_length=1)
    trustBundleDistribution: TrustBundleDistribution | None = None


def _check_trust_domain(name: str) -> str:
    try:
        return check_trust_domain(name.strip())
    except InvalidSpiffeId as exc:
        raise BadRequest(f"trustDomain: {exc}") from None


def _apply_distribution(config: IdentitySpiffeAuth, distribution: StaticBundle | HttpsWebBundle) -> None:
    config.bundle_profile = distribution.profile
    if isinstance(distribution, StaticBundle):
        try:
            parse_spiffe_bundle(parse_json(distribution.bundle), allow_plain_jwks=True)
        except FetchError as exc:
            raise BadRequest(f"trustBundleDistribution.bundle: {exc}") from None
        config.bundle = distribution.bundle.strip()
        config.endpoint_url, config.ca_cert, config.refresh_hint_seconds = "", "", 3600
    else:
        # SPIFFE's https_web profile: the endpoint is authenticated by Web PKI (or the given CA).
        config.endpoint_url = check_http_url(distribution.endpointUrl, "endpointUrl", https_only=True)
        config.ca_cert = check_ca_cert(distribution.caCert)
        config.refresh_hint_seconds = distribution.refreshHintSeconds
        config.bundle = ""


def key_source(config: IdentitySpiffeAuth) -> KeySource:
    if config.bundle_profile == "static":
        return StaticKeySource(config.bundle, label="the configured SPIFFE bundle", spiffe_bundle=True)
    return configured_source(SpiffeBundleSource, config.endpoint_url, config.ca_cert, config.refresh_hint_seconds)


def describe(config: IdentitySpiffeAuth) -> dict[str, Any]:
    distribution: dict[str, Any]
    if config.bundle_profile == "static":
        distribution = {"profile": "static", "bundle": config.bundle}
    else:
        distribution = {
            "profile": "https_web_bundle",
            "endpointUrl": config.endpoint_url,
            "caCert": config.ca_cert,
            "refreshHintSeconds": config.refresh_hint_seconds,
        }
    return {
        "id": config.id,
        "identityId": config.identity_id,
        "trustDomain": config.trust_domain,
        "allowedSpiffeIds": config.allowed_spiffe_ids,
        "allowedAudiences": config.allowed_audiences,
        "trustBundleDistribution": distribution,
        **policy_response(config),
        "createdAt": iso(config.created_at),
        "updatedAt": iso(config.updated_at),
    }


def attach(session: Session, identity: Identity, fields: SpiffeAuthAttach) -> IdentitySpiffeAuth:
    if identity.spiffe_auth is not None:
        raise BadRequest("Failed to add SPIFFE Auth to already configured identity")
    config = IdentitySpiffeAuth(
        identity_id=identity.id,
        trust_domain=_check_trust_domain(fields.trustDomain),
        allowed_spiffe_ids=check_pattern_list(fields.allowedSpiffeIds, "allowedSpiffeIds"),
        allowed_audiences=check_pattern_list(fields.allowedAudiences, "allowedAudiences"),
        **policy_columns(fields),
    )
    if not config.allowed_spiffe_ids or not config.allowed_audiences:
        raise BadRequest("allowedSpiffeIds and allowedAudiences must each name at least one value")
    _apply_distribution(config, fields.trustBundleDistribution)
    session.add(config)
    session.flush()
    return config


def require(identity: Identity, *, missing_message: str) -> IdentitySpiffeAuth:
    if identity.spiffe_auth is None:
        raise BadRequest(missing_message)
    return identity.spiffe_auth


def update(session: Session, identity: Identity, fields: SpiffeAuthUpdate) -> IdentitySpiffeAuth:
    config = require(identity, missing_message="Failed to update SPIFFE Auth")
    apply_policy_update(config, fields)
    if fields.trustDomain is not None:
        config.trust_domain = _check_trust_domain(fields.trustDomain)
    if fields.allowedSpiffeIds is not None:
        config.allowed_spiffe_ids = check_pattern_list(fields.allowedSpiffeIds, "allowedSpiffeIds")
    if fields.allowedAudiences is not None:
        config.allowed_audiences = check_pattern_list(fields.allowedAudiences, "allowedAudiences")
    if not config.allowed_spiffe_ids or not config.allowed_audiences:
        raise BadRequest("allowedSpiffeIds and allowedAudiences must each name at least one value")
    if fields.trustBundleDistribution is not None:
        _apply_distribution(config, fields.trustBundleDistribution)
    session.flush()
    return config


def revoke(session: Session, identity: Identity) -> dict[str, Any]:
    config = require(identity, missing_message="The identity does not have SPIFFE auth")
    described = describe(config)
    AccessTokens.revoke_all_for_method(session, identity.id, AUTH_METHOD)
    identity.spiffe_auth = None
    session.flush()
    return described
