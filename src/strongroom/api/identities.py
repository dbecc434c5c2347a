"""``/api/v1/identities``: machine identities of the caller's organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from strongroom.api.deps import Caller, Db
from strongroom.api.routing import api_router
from strongroom.errors import NotFound
from strongroom.identities import identities
from strongroom.identities.roles import OrgRole, require_can_grant, require_org_role
from strongroom.web.bodies import body

router = api_router("/api/v1/identities")


@router.post("")
async def create_identity(
    fields: Annotated[identities.IdentityCreate, Depends(body(identities.IdentityCreate))], caller: Caller, session: Db
) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.ADMIN, "create")
    if fields.organizationId != caller.org_id:
        raise NotFound(f"Failed to find organization with ID {fields.organizationId}")
    role = OrgRole.parse(fields.role)
    require_can_grant(caller.org_role, role)
    return {"identity": identities.describe(identities.create(session, caller.org_id, fields, role))}


@router.get("")
async def list_identities(
    caller: Caller,
    session: Db,
    orgId: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.MEMBER, "read")
    if orgId is not None and orgId != caller.org_id:
        raise NotFound(f"Failed to find organization with ID {orgId}")
    found, total = identities.list_in_org(session, caller.org_id, offset, limit)
    return {"identities": [identities.describe_membership(identity) for identity in found], "totalCount": total}


@router.get("/{identity_id}")
async def get_identity(identity_id: str, caller: Caller, session: Db) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.MEMBER, "read")
    return {"identity": identities.describe_membership(identities.get_in_org(session, identity_id, caller.org_id))}


@router.patch("/{identity_id}")
async def update_identity(
    identity_id: str,
    fields: Annotated[identities.IdentityUpdate, Depends(body(identities.IdentityUpdate))],
    caller: Caller,
    session: Db,
) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.ADMIN, "edit")
    identity = identities.get_in_org(session, identity_id, caller.org_id)
    role = OrgRole.parse(fields.role) if fields.role is not None else None
    if role is not None:
        require_can_grant(caller.org_role, role)
    return {"identity": identities.describe(identities.update(session, identity, fields, role))}


@router.delete("/{identity_id}")
async def delete_identity(identity_id: str, caller: Caller, session: Db) -> dict[str, Any]:
    require_org_role(caller.org_role, OrgRole.ADMIN, "delete")
    return {"identity": identities.delete(session, identities.get_in_org(session, identity_id, caller.org_id))}
