"""Identity project memberships, on both path styles Infisical serves.

- ``/api/v2/workspace/{projectId}/identity-memberships/{identityId}`` (Terraform)
- ``/api/v1/projects/{projectId}/memberships/identities/{identityId}`` (the API docs)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from strongroom.api.deps import CallerContext, Context
from strongroom.api.routing import api_router
from strongroom.errors import NotFound
from strongroom.identities import identities
from strongroom.projects import memberships
from strongroom.projects.access import ProjectAccess, access_by_id
from strongroom.projects.roles import CREATE_IDENTITIES, DELETE_IDENTITIES, EDIT_IDENTITIES, READ_IDENTITIES, Permission
from strongroom.store.models import Identity, IdentityProjectMembership
from strongroom.web.bodies import body

router = api_router()

V2 = "/api/v2/workspace/{project_id}/identity-memberships"
V1 = "/api/v1/projects/{project_id}/memberships/identities"

CreateBody = Annotated[memberships.MembershipCreate, Depends(body(memberships.MembershipCreate))]
UpdateBody = Annotated[memberships.MembershipUpdate, Depends(body(memberships.MembershipUpdate))]


def _access(context: CallerContext, project_id: str, permission: Permission) -> ProjectAccess:
    access = access_by_id(context.work, context.caller, project_id, context.now())
    access.require(permission)
    return access


def _full(session: Session, access: ProjectAccess, membership: IdentityProjectMembership) -> dict[str, Any]:
    identity = session.get(Identity, membership.identity_id)
    assert identity is not None  # the membership row is deleted with its identity
    return memberships.describe(membership, identity, access.project)


@router.get("/api/v2/workspace/identity-memberships/{membership_id}")
async def get_membership_by_id(membership_id: str, context: Context) -> dict[str, Any]:
    membership = context.session.get(IdentityProjectMembership, membership_id)
    if membership is None:
        raise NotFound(f"Identity membership with ID '{membership_id}' not found")
    access = _access(context, membership.project_id, READ_IDENTITIES)
    return {"identityMembership": _full(context.session, access, membership)}


@router.post(V2 + "/{identity_id}")
@router.post(V1 + "/{identity_id}")
async def add_membership(project_id: str, identity_id: str, fields: CreateBody, context: Context) -> dict[str, Any]:
    access = _access(context, project_id, CREATE_IDENTITIES)
    identity = identities.get_in_org(context.session, identity_id, access.project.org_id)
    membership = memberships.add(context.session, access.project, identity.id, memberships.requested_roles(fields))
    return {"identityMembership": memberships.describe_created(membership)}


@router.get(V2 + "/{identity_id}")
@router.get(V1 + "/{identity_id}")
async def get_membership(project_id: str, identity_id: str, context: Context) -> dict[str, Any]:
    access = _access(context, project_id, READ_IDENTITIES)
    membership = memberships.require(context.session, project_id, identity_id)
    return {"identityMembership": _full(context.session, access, membership)}


@router.get(V2)
async def list_memberships_v2(
    project_id: str, context: Context,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=20000)] = 100,
) -> dict[str, Any]:
    access = _access(context, project_id, READ_IDENTITIES)
    found, total = memberships.list_in_project(context.session, project_id, offset, limit)
    return {"identityMemberships": [_full(context.session, access, m) for m in found], "totalCount": total}


@router.get(V1)
async def list_memberships_v1(
    project_id: str, context: Context,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, Any]:
    access = _access(context, project_id, READ_IDENTITIES)
    found, total = memberships.list_in_project(context.session, project_id, offset, limit)
    return {"identityMemberships": [_full(context.session, access, m) for m in found], "totalCount": total}


@router.patch(V2 + "/{identity_id}")
async def update_membership_v2(project_id: str, identity_id: str, fields: UpdateBody,
                               context: Context) -> dict[str, Any]:
    _access(context, project_id, EDIT_IDENTITIES)
    session = context.session
    membership = memberships.replace_roles(session, memberships.require(session, project_id, identity_id), fields.roles)
    return {"roles": [memberships.describe_role(role) for role in membership.roles]}


@router.patch(V1 + "/{identity_id}")
async def update_membership_v1(project_id: str, identity_id: str, fields: UpdateBody,
                               context: Context) -> dict[str, Any]:
    access = _access(context, project_id, EDIT_IDENTITIES)
    session = context.session
    membership = memberships.replace_roles(session, memberships.require(session, project_id, identity_id), fields.roles)
    return {"identityMembership": _full(context.session, access, membership)}


@router.delete(V2 + "/{identity_id}")
@router.delete(V1 + "/{identity_id}")
async def remove_membership(project_id: str, identity_id: str, context: Context) -> dict[str, Any]:
    _access(context, project_id, DELETE_IDENTITIES)
    session = context.session
    return {"identityMembership": memberships.remove(session, memberships.require(session, project_id, identity_id))}
