"""``/api/v1/auth/oidc-auth``: configure OIDC Auth on an identity, and log in with it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from strongroom.api.deps import Caller, Db, ServicesDep
from strongroom.auth.oidc import config as oidc_config
from strongroom.identities import identities
from strongroom.identities.roles import OrgRole, require_org_role
from strongroom.web.bodies import body

router = APIRouter(prefix="/api/v1/auth/oidc-auth")


class OidcLoginRequest(BaseModel):
    # organizationSlug / subOrganizationName are sent by some clients and ignored: one organisation per instance.
    model_config = ConfigDict(extra="ignore")

    identityId: str = Field(min_length=1)
    jwt: str = Field(min_length=1)

    @field_validator("identityId", "jwt")
    @classmethod
    def _trimmed(cls, text: str) -> str:
        return text.strip()


@router.post("/login")
def login(
    request: Annotated[OidcLoginRequest, Depends(body(OidcLoginRequest))], session: Db, services: ServicesDep
) -> dict[str, Any]:
    # No Authorization header is read here: the Python SDK sends a stale one on re-login.
    return services.oidc_login(session, request.identityId, request.jwt).as_response()


@router.post("/identities/{identity_id}")
def attach(
    identity_id: str,
    fields: Annotated[oidc_config.OidcAuthAttach, Depends(body(oidc_config.OidcAuthAttach))],
    caller: Caller,
    session: Db,
) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.ADMIN, "create")
    identity = identities.get_in_org(session, identity_id, caller.org_id)
    return {"identityOidcAuth": oidc_config.describe(oidc_config.attach(session, identity, fields))}


@router.get("/identities/{identity_id}")
def read(identity_id: str, caller: Caller, session: Db, services: ServicesDep) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.MEMBER, "read")
    identity = identities.get_in_org(session, identity_id, caller.org_id)
    config = oidc_config.require(identity, missing_message="The identity does not have OIDC Auth attached")
    # keySet is Strongroom's addition: what this replica last fetched from the issuer, and the last error.
    key_set = services.jwks.status(services.oidc_login.key_source(config))
    return {"identityOidcAuth": {**oidc_config.describe(config), "keySet": key_set.as_response()}}


@router.post("/identities/{identity_id}/refresh-keys")
def refresh_keys(identity_id: str, caller: Caller, session: Db, services: ServicesDep) -> dict[str, Any]:
    """Fetch the issuer's keys now (after a forced SPIRE rotation, say) instead of waiting for the cache."""
    require_org_role(caller.org_role, OrgRole.ADMIN, "edit")
    identity = identities.get_in_org(session, identity_id, caller.org_id)
    config = oidc_config.require(identity, missing_message="The identity does not have OIDC Auth attached")
    return {"keySet": services.jwks.refresh(services.oidc_login.key_source(config)).as_response()}


@router.patch("/identities/{identity_id}")
def update(
    identity_id: str,
    fields: Annotated[oidc_config.OidcAuthUpdate, Depends(body(oidc_config.OidcAuthUpdate))],
    caller: Caller,
    session: Db,
    services: ServicesDep,
) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.ADMIN, "edit")
    identity = identities.get_in_org(session, identity_id, caller.org_id)
    previous_source = services.oidc_login.key_source(oidc_config.require(identity, missing_message="Failed to update OIDC Auth"))
    config = oidc_config.update(session, identity, fields)
    if services.oidc_login.key_source(config) != previous_source:
        services.jwks.forget(previous_source)
    return {"identityOidcAuth": oidc_config.describe(config)}


@router.delete("/identities/{identity_id}")
def revoke(identity_id: str, caller: Caller, session: Db) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.ADMIN, "edit")
    identity = identities.get_in_org(session, identity_id, caller.org_id)
    return {"identityOidcAuth": oidc_config.revoke(session, identity)}
