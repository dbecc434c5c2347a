"""The routes every login method has, built once: attach, read, update, revoke, refresh keys, login.

``/api/v1/auth/<method>/identities/{identityId}`` configures a method on an
identity and ``/api/v1/auth/<method>/login`` trades a JWT for an access token,
with Infisical's paths, bodies and response keys.
"""

# No `from __future__ import annotations`: FastAPI must see the request models
# of each method as real types, and they are only known inside the factory.
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any, Callable

import anyio
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from strongroom.api.deps import Context, LoginAttemptsDep, ServicesDep
from strongroom.api.routing import api_router
from strongroom.app import Services
from strongroom.auth.logins import Login, run_login
from strongroom.identities import identities
from strongroom.identities.roles import OrgRole, require_org_role
from strongroom.web.bodies import body
from strongroom.web.responses import JsonResponse


class LoginRequest(BaseModel):
    # organizationSlug / subOrganizationName are sent by some clients and ignored: one organisation per instance.
    model_config = ConfigDict(extra="ignore")

    identityId: str = Field(min_length=1)
    jwt: str = Field(min_length=1)

    @field_validator("identityId", "jwt")
    @classmethod
    def _trimmed(cls, text: str) -> str:
        return text.strip()


@dataclass(frozen=True)
class AuthMethodApi:
    """How one method plugs into the shared routes."""

    path: str  # "oidc-auth"
    response_key: str  # "identityOidcAuth"
    display_name: str  # "OIDC Auth"
    config: ModuleType  # attach / require / update / revoke / describe / key_source, and the request models
    attach_model: type[BaseModel]
    update_model: type[BaseModel]
    login: Callable[[Services], Login]
    key_source: Callable[[Services, Any], Any]


def auth_method_router(method: AuthMethodApi) -> APIRouter:
    router = api_router(f"/api/v1/auth/{method.path}")
    missing = f"The identity does not have {method.display_name} attached"

    def key_set(services: Services, config: Any) -> dict[str, Any]:
        # Strongroom's addition: what this replica last fetched from the key source, and the last error.
        return services.jwks.status(method.key_source(services, config)).as_response()

    @router.post("/login")
    async def login(request: Annotated[LoginRequest, Depends(body(LoginRequest))], services: ServicesDep,
                    attempts: LoginAttemptsDep) -> Response:
        # No Authorization header is read here: the Python SDK sends a stale one on re-login.
        with attempts.of(request.identityId):  # failed logins are limited (strongroom.auth.throttle)
            issued = await run_login(services.database, method.login(services), request.identityId, request.jwt)
        # A Response, not a dict: the route is then called directly (strongroom.web.direct_calls).
        return JsonResponse(issued.as_response())

    AttachBody = Annotated[method.attach_model, Depends(body(method.attach_model))]  # type: ignore[name-defined]
    UpdateBody = Annotated[method.update_model, Depends(body(method.update_model))]  # type: ignore[name-defined]

    @router.post("/identities/{identity_id}")
    async def attach(identity_id: str, fields: AttachBody, context: Context) -> dict[str, Any]:
        require_org_role(context.caller.org_role, OrgRole.ADMIN, "create")
        identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
        return {method.response_key: method.config.describe(method.config.attach(context.session, identity, fields))}

    @router.get("/identities/{identity_id}")
    async def read(identity_id: str, context: Context) -> dict[str, Any]:
        require_org_role(context.caller.org_role, OrgRole.MEMBER, "read")
        identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
        config = method.config.require(identity, missing_message=missing)
        return {method.response_key: {**method.config.describe(config), "keySet": key_set(context.services, config)}}

    @router.patch("/identities/{identity_id}")
    async def update(identity_id: str, fields: UpdateBody, context: Context) -> dict[str, Any]:
        require_org_role(context.caller.org_role, OrgRole.ADMIN, "edit")
        identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
        current = method.config.require(identity, missing_message=f"Failed to update {method.display_name}")
        previous = method.key_source(context.services, current)
        config = method.config.update(context.session, identity, fields)
        if method.key_source(context.services, config) != previous:
            context.services.jwks.forget(previous)  # the old source's keys must not outlive the change
        return {method.response_key: method.config.describe(config)}

    @router.delete("/identities/{identity_id}")
    async def revoke(identity_id: str, context: Context) -> dict[str, Any]:
        require_org_role(context.caller.org_role, OrgRole.ADMIN, "edit")
        identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
        return {method.response_key: method.config.revoke(context.session, identity)}

    @router.post("/identities/{identity_id}/refresh-keys")
    async def refresh_keys(identity_id: str, context: Context) -> dict[str, Any]:
        """Fetch the method's keys now (after a forced SPIRE rotation, say) instead of waiting for the cache."""
        require_org_role(context.caller.org_role, OrgRole.ADMIN, "edit")
        identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
        source = method.key_source(context.services, method.config.require(identity, missing_message=missing))
        context.work.commit()  # a read so far: no transaction stays open while the fetch leaves the loop
        return {"keySet": (await anyio.to_thread.run_sync(context.services.jwks.refresh, source)).as_response()}

    return router
