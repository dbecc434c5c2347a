"""``/api/v1/identities``: machine identities of the caller's organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Response

from strongroom.api.deps import Context
from strongroom.api.routing import api_router
from strongroom.errors import NotFound
from strongroom.identities import identities
from strongroom.identities.roles import OrgRole, require_can_grant, require_org_role
from strongroom.web.bodies import body
from strongroom.web.responses import JsonResponse

router = api_router("/api/v1/identities")


@router.post("")
async def create_identity(
    fields: Annotated[identities.IdentityCreate, Depends(body(identities.IdentityCreate))], context: Context
) -> dict[str, Any]:
    require_org_role(context.caller.org_role, OrgRole.ADMIN, "create")
    if fields.organizationId != context.caller.org_id:
        raise NotFound(f"Failed to find organization with ID {fields.organizationId}")
    role = OrgRole.parse(fields.role)
    require_can_grant(context.caller.org_role, role)
    return {"identity": identities.describe(identities.create(context.session, context.caller.org_id, fields, role))}


@router.get("")
async def list_identities(
    context: Context,
    orgId: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    require_org_role(context.caller.org_role, OrgRole.MEMBER, "read")
    if orgId is not None and orgId != context.caller.org_id:
        raise NotFound(f"Failed to find organization with ID {orgId}")
    found, total = identities.membership_views_in_org(context.work.connection, context.caller.org_id, offset, limit)
    return {"identities": found, "totalCount": total}


@router.get("/{identity_id}")
async def get_identity(identity_id: str, context: Context) -> Response:
    require_org_role(context.caller.org_role, OrgRole.MEMBER, "read")
    # A Response, not a dict: the route is then called directly (strongroom.web.direct_calls).
    return JsonResponse({"identity": identities.membership_view(context.work.connection, identity_id,
                                                                context.caller.org_id)})


@router.patch("/{identity_id}")
async def update_identity(
    identity_id: str,
    fields: Annotated[identities.IdentityUpdate, Depends(body(identities.IdentityUpdate))],
    context: Context,
) -> dict[str, Any]:
    require_org_role(context.caller.org_role, OrgRole.ADMIN, "edit")
    identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
    role = OrgRole.parse(fields.role) if fields.role is not None else None
    if role is not None:
        require_can_grant(context.caller.org_role, role)
    return {"identity": identities.describe(identities.update(context.session, identity, fields, role))}


@router.delete("/{identity_id}")
async def delete_identity(identity_id: str, context: Context) -> dict[str, Any]:
    require_org_role(context.caller.org_role, OrgRole.ADMIN, "delete")
    identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
    return {"identity": identities.delete(context.session, identity)}
