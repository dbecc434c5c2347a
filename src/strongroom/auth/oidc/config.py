"""OIDC Auth on an identity: attach, read, update and revoke its configuration.

Field names, defaults and normal forms follow Infisical's
``/api/v1/auth/oidc-auth/identities/{identityId}`` so Terraform and scripts
written for Infisical work unchanged. Nonsense is refused here, before
anything is stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from strongroom.auth.method_config import (
    TokenPolicyFields,
    TokenPolicyUpdate,
    apply_policy_update,
    check_ca_cert,
    check_claim_map,
    check_http_url,
    check_pattern,
    check_pattern_list,
    policy_columns,
    policy_response,
)
from strongroom.auth.tokens import AccessTokens
from strongroom.clock import iso
from strongroom.errors import BadRequest
from strongroom.store.models import Identity, IdentityOidcAuth

AUTH_METHOD = "oidc-auth"


class OidcBindings(BaseModel):
    # Infisical requires boundIssuer; SPIRE issues no `iss` unless jwt_issuer is
    # set, so here an empty issuer means "not checked" (keys still come only from the configured URL).
    boundIssuer: str = ""
    boundAudiences: str = ""
    boundClaims: dict[str, str] = Field(default_factory=dict)
    claimMetadataMapping: dict[str, str] | None = None
    boundSubject: str = ""


class OidcAuthAttach(TokenPolicyFields, OidcBindings):
    oidcDiscoveryUrl: str = Field(min_length=1)
    caCert: str = ""


class OidcAuthUpdate(TokenPolicyUpdate):
    oidcDiscoveryUrl: str | None = Field(default=None, min_length=1)
    caCert: str | None = None
    boundIssuer: str | None = None
    boundAudiences: str | None = None
    boundClaims: dict[str, str] | None = None
    claimMetadataMapping: dict[str, str] | None = None
    boundSubject: str | None = None


def check_discovery_url(url: str) -> str:
    url = check_http_url(url, "oidcDiscoveryUrl")
    if "?" in url:
        raise BadRequest("oidcDiscoveryUrl must not carry a query")
    return url


def describe(config: IdentityOidcAuth, *, with_ca_cert: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": config.id,
        **policy_response(config),
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
        bound_subject=check_pattern(fields.boundSubject, "boundSubject"),
        **policy_columns(fields),
    )
    session.add(config)
    session.flush()
    return config


def require(identity: Identity, *, missing_message: str) -> IdentityOidcAuth:
    if identity.oidc_auth is None:
        raise BadRequest(missing_message)
    return identity.oidc_auth


def update(session: Session, identity: Identity, fields: OidcAuthUpdate) -> IdentityOidcAuth:
    config = require(identity, missing_message="Failed to update OIDC Auth")
    apply_policy_update(config, fields)
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
        config.bound_subject = check_pattern(fields.boundSubject, "boundSubject")
    session.flush()
    return config


def revoke(session: Session, identity: Identity) -> dict[str, Any]:
    config = require(identity, missing_message="The identity does not have OIDC auth")
    described = describe(config, with_ca_cert=False)
    AccessTokens.revoke_all_for_method(session, identity.id, AUTH_METHOD)
    identity.oidc_auth = None
    session.flush()
    return described
