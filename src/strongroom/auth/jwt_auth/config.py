"""JWT Auth on an identity: attach, read, update and revoke (Infisical's ``/api/v1/auth/jwt-auth``).

The key source is either a JWKS URL (``configurationType: "jwks"``, with an
optional CA) or PEM public keys written into the configuration
(``"static"``); the bindings are OIDC Auth's.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from strongroom.auth.keys.jwk import signing_key_from_pem
from strongroom.auth.keys.sources import JwksUrlSource, KeySource, StaticKeySource
from strongroom.auth.method_config import (
    TokenPolicyFields,
    TokenPolicyUpdate,
    apply_policy_update,
    check_ca_cert,
    check_claim_map,
    check_http_url,
    check_pattern,
    check_pattern_list,
    check_ttls,
    policy_columns,
    policy_response,
)
from strongroom.auth.tokens import AccessTokens
from strongroom.clock import iso
from strongroom.errors import BadRequest
from strongroom.outbound import FetchError
from strongroom.store.models import Identity, IdentityJwtAuth

AUTH_METHOD = "jwt-auth"
ConfigurationType = Literal["jwks", "static"]


class JwtBindings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    boundIssuer: str = ""
    boundAudiences: str = ""
    boundClaims: dict[str, str] = Field(default_factory=dict)
    claimMetadataMapping: dict[str, str] | None = None
    boundSubject: str = ""


class JwtAuthAttach(TokenPolicyFields, JwtBindings):
    configurationType: ConfigurationType
    jwksUrl: str = ""
    jwksCaCert: str = ""
    publicKeys: list[str] = Field(default_factory=list)


class JwtAuthUpdate(TokenPolicyUpdate):
    configurationType: ConfigurationType | None = None
    jwksUrl: str | None = None
    jwksCaCert: str | None = None
    publicKeys: list[str] | None = None
    boundIssuer: str | None = None
    boundAudiences: str | None = None
    boundClaims: dict[str, str] | None = None
    claimMetadataMapping: dict[str, str] | None = None
    boundSubject: str | None = None


def _check_public_keys(keys: list[str]) -> list[str]:
    checked = []
    for index, pem in enumerate(keys):
        try:
            signing_key_from_pem(pem.strip())
        except FetchError as exc:
            raise BadRequest(f"publicKeys[{index}]: {exc}") from None
        checked.append(pem.strip())
    return checked


def _check_key_source(config: IdentityJwtAuth) -> None:
    if config.configuration_type == "jwks":
        config.jwks_url = check_http_url(config.jwks_url, "jwksUrl")
    elif not config.public_keys:
        raise BadRequest("A static JWT Auth configuration needs at least one public key")


def key_source(config: IdentityJwtAuth) -> KeySource:
    if config.configuration_type == "jwks":
        return JwksUrlSource(config.jwks_url, config.jwks_ca_cert)
    return StaticKeySource("\n".join(config.public_keys), label="the configured public keys")


def describe(config: IdentityJwtAuth, *, with_key_material: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": config.id,
        "identityId": config.identity_id,
        "configurationType": config.configuration_type,
        "jwksUrl": config.jwks_url,
        "boundIssuer": config.bound_issuer,
        "boundAudiences": config.bound_audiences,
        "boundClaims": config.bound_claims,
        "claimMetadataMapping": config.claim_metadata_mapping,
        "boundSubject": config.bound_subject,
        **policy_response(config),
        "createdAt": iso(config.created_at),
        "updatedAt": iso(config.updated_at),
    }
    if with_key_material:
        body["jwksCaCert"] = config.jwks_ca_cert
        body["publicKeys"] = config.public_keys
    return body


def attach(session: Session, identity: Identity, fields: JwtAuthAttach) -> IdentityJwtAuth:
    if identity.jwt_auth is not None:
        raise BadRequest("Failed to add JWT Auth to already configured identity")
    check_ttls(fields.accessTokenTTL, fields.accessTokenMaxTTL)
    config = IdentityJwtAuth(
        identity_id=identity.id,
        configuration_type=fields.configurationType,
        jwks_url=fields.jwksUrl.strip(),
        jwks_ca_cert=check_ca_cert(fields.jwksCaCert, "jwksCaCert"),
        public_keys=_check_public_keys(fields.publicKeys),
        bound_issuer=fields.boundIssuer.strip(),
        bound_audiences=check_pattern_list(fields.boundAudiences, "boundAudiences"),
        bound_claims=check_claim_map(fields.boundClaims, "boundClaims"),
        claim_metadata_mapping=(
            check_claim_map(fields.claimMetadataMapping, "claimMetadataMapping")
            if fields.claimMetadataMapping is not None else None
        ),
        bound_subject=check_pattern(fields.boundSubject.strip(), "boundSubject"),
        **policy_columns(fields),
    )
    _check_key_source(config)
    session.add(config)
    session.flush()
    return config


def require(identity: Identity, *, missing_message: str) -> IdentityJwtAuth:
    if identity.jwt_auth is None:
        raise BadRequest(missing_message)
    return identity.jwt_auth


def update(session: Session, identity: Identity, fields: JwtAuthUpdate) -> IdentityJwtAuth:
    config = require(identity, missing_message="Failed to update JWT Auth")
    apply_policy_update(config, fields)
    if fields.configurationType is not None:
        config.configuration_type = fields.configurationType
    if fields.jwksUrl is not None:
        config.jwks_url = fields.jwksUrl.strip()
    if fields.jwksCaCert is not None:
        config.jwks_ca_cert = check_ca_cert(fields.jwksCaCert, "jwksCaCert")
    if fields.publicKeys is not None:
        config.public_keys = _check_public_keys(fields.publicKeys)
    if fields.boundIssuer is not None:
        config.bound_issuer = fields.boundIssuer.strip()
    if fields.boundAudiences is not None:
        config.bound_audiences = check_pattern_list(fields.boundAudiences, "boundAudiences")
    if fields.boundClaims is not None:
        config.bound_claims = check_claim_map(fields.boundClaims, "boundClaims")
    if fields.claimMetadataMapping is not None:
        config.claim_metadata_mapping = check_claim_map(fields.claimMetadataMapping, "claimMetadataMapping")
    if fields.boundSubject is not None:
        config.bound_subject = check_pattern(fields.boundSubject.strip(), "boundSubject")
    _check_key_source(config)
    session.flush()
    return config


def revoke(session: Session, identity: Identity) -> dict[str, Any]:
    config = require(identity, missing_message="The identity does not have JWT auth")
    described = describe(config, with_key_material=False)
    AccessTokens.revoke_all_for_method(session, identity.id, AUTH_METHOD)
    identity.jwt_auth = None
    session.flush()
    return described
